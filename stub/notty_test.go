package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/payload"
)

// smallInstaller writes an installer with one file into dir.
func smallInstaller(t *testing.T, dir string) string {
	return writeInstaller(t, filepath.Join(dir, "app-installer.run"), installerSpec{
		files:  map[string]entry{"etc/readme.txt": bytesEntry("hello\n")},
		labels: map[string]string{payload.LabelTitle: "tiny", payload.LabelVersion: "0.1"},
	})
}

// TestNoTerminalNamesUnattended: without a terminal and without
// --unattended there is no one to ask, so the installer says how to run
// unattended and exits non-zero, rather than hang or draw into a pipe.
func TestNoTerminalNamesUnattended(t *testing.T) {
	dir := t.TempDir()
	exe := smallInstaller(t, dir)
	cmd := exec.Command(exe) // stdin is /dev/null, stdout and stderr pipes
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit: %v, want a non-zero status\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "--unattended") {
		t.Errorf("stderr does not name --unattended: %q", stderr.String())
	}
	if strings.Contains(stderr.String(), "goroutine ") || stdout.Len() > 0 {
		t.Errorf("unexpected output:\nstdout: %q\nstderr: %q", stdout.String(), stderr.String())
	}
}

// TestNoTerminalOnStdinInTerminal: output to a terminal is not enough; the
// wizard needs to read keys, so stdin from a file is refused too.
func TestNoTerminalOnStdinInTerminal(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	smallInstaller(t, dir)
	m := startTerminal(t, dir, "./app-installer.run </dev/null")
	code, scr := m.exitStatus(20 * time.Second)
	if code == 0 || !strings.Contains(scr, "--unattended") {
		t.Errorf("status %d, want non-zero with a message naming --unattended:\n%s", code, scr)
	}
}

// TestWizardCtrlCExits130: quitting the wizard with Ctrl+C is an
// interruption, and says so in its status, as a shell would.
func TestWizardCtrlCExits130(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	smallInstaller(t, dir)
	m := startTerminal(t, dir, "./app-installer.run")
	m.waitFor(20*time.Second, "Welcome")
	m.keys("C-c")
	m.waitFor(5*time.Second, "Quit the installer?")
	m.keys("y")
	if code, scr := m.exitStatus(10 * time.Second); code != 130 {
		t.Errorf("status %d after Ctrl+C, want 130:\n%s", code, scr)
	}
}
