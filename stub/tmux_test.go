package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testreq"
)

// showScreensEnv, when set, logs every screen a test waited for (with -v).
const showScreensEnv = "SEALPACK_TEST_SCREENS"

// exitLine is what the pane shows once the installer has exited.
const exitLine = "installer exited with status "

// terminal is one tmux server with one window that runs the installer: a
// real terminal, driven with send-keys and read with capture-pane.
type terminal struct {
	t    testing.TB
	sock string
	last string // the last screen read, for failure messages
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// needTmux skips the test loudly when tmux is not installed.
func needTmux(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		testreq.Skip(t, "tests in a real terminal", "needs tmux (make deps as root installs it)")
	}
}

// startTerminal starts a private tmux server whose 100x30 window runs
// command in dir through sh; when command ends the window stays and says
// how it ended, so a test reads what the program left behind.
func startTerminal(t testing.TB, dir, command string) *terminal {
	t.Helper()
	needTmux(t)
	// A short path of its own: socket paths are limited to ~100 bytes, and
	// the test must not touch a tmux server of the machine's users.
	sockDir, err := os.MkdirTemp("", "spk-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, sock: filepath.Join(sockDir, "s")}
	t.Cleanup(func() {
		exec.Command("tmux", "-S", term.sock, "kill-server").Run()
		os.RemoveAll(sockDir)
	})
	script := command + "; s=$?; echo; echo \"" + exitLine + "$s\"; exec sleep 3600"
	out, err := exec.Command("tmux", "-S", term.sock, "-f", "/dev/null", "new-session", "-d", "-s", "w",
		"-x", "100", "-y", "30", "-c", dir, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	return term
}

// screen is what the window shows now, as text.
func (m *terminal) screen() string {
	out, err := exec.Command("tmux", "-S", m.sock, "capture-pane", "-p", "-t", "w").Output()
	if err != nil {
		m.t.Fatalf("tmux capture-pane: %v", err)
	}
	m.last = string(out)
	return m.last
}

// waitFor waits until every one of texts is on the screen at once, and
// returns that screen. It fails the test on timeout, or when the installer
// exits first, showing the last screen.
func (m *terminal) waitFor(timeout time.Duration, texts ...string) string {
	m.t.Helper()
	return m.waitUntil(timeout, fmt.Sprintf("%q", texts), func(s string) bool {
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	}, containsAny(texts, exitLine))
}

// waitUntil waits until ok(screen) holds; what describes it for the
// failure message. Unless exitOK, the installer exiting first fails.
func (m *terminal) waitUntil(timeout time.Duration, what string, ok func(string) bool, exitOK bool) string {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := m.screen()
		if ok(s) {
			if os.Getenv(showScreensEnv) != "" {
				m.t.Logf("screen for %s:\n%s", what, s)
			}
			return s
		}
		if !exitOK && strings.Contains(s, exitLine) {
			m.t.Fatalf("the installer exited while waiting for %s:\n%s", what, s)
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("after %v, the screen does not show %s:\n%s", timeout, what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// keys sends tmux key names: "Enter", "Escape", "Up", "C-c", "a".
func (m *terminal) keys(keys ...string) {
	m.t.Helper()
	for _, k := range keys {
		if out, err := exec.Command("tmux", "-S", m.sock, "send-keys", "-t", "w", k).CombinedOutput(); err != nil {
			m.t.Fatalf("tmux send-keys %s: %v: %s", k, err, out)
		}
		// A lone Escape followed at once by another key reads as Alt+key.
		if k == "Escape" {
			time.Sleep(150 * time.Millisecond)
		}
	}
}

// typeText types text literally.
func (m *terminal) typeText(text string) {
	m.t.Helper()
	if out, err := exec.Command("tmux", "-S", m.sock, "send-keys", "-t", "w", "-l", text).CombinedOutput(); err != nil {
		m.t.Fatalf("tmux send-keys -l: %v: %s", err, out)
	}
}

// exitStatus waits for the installer to exit and returns its status.
func (m *terminal) exitStatus(timeout time.Duration) (int, string) {
	m.t.Helper()
	s := m.waitFor(timeout, exitLine)
	i := strings.LastIndex(s, exitLine)
	var code int
	if _, err := fmt.Sscanf(s[i+len(exitLine):], "%d", &code); err != nil {
		m.t.Fatalf("reading the exit status: %v\n%s", err, s)
	}
	return code, s
}
