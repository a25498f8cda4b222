package testhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Tools a world needs on this machine, and the Debian packages they come in.
var requiredFiles = []struct{ path, pkg string }{
	{"/usr/sbin/sshd", "openssh-server"},
	{"/usr/lib/openssh/sftp-server", "openssh-sftp-server"},
	{"/usr/bin/sudo", "sudo"},
	{"/usr/bin/nsenter", "util-linux"},
}

// Available tells whether this machine can host a world; the error says why not.
func Available() error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux")
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("needs ip (apt-get install iproute2)")
	}
	var missing []string
	for _, f := range requiredFiles {
		if !fileExists(f.path) {
			missing = append(missing, f.path+" ("+f.pkg+")")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; run testhost.EnsurePackages or apt-get install -y openssh-server iproute2 sudo", strings.Join(missing, ", "))
	}
	return nil
}

// policyRC keeps apt from starting services (sshd) on this machine.
const policyRC = "/usr/sbin/policy-rc.d"

// EnsurePackages installs openssh-server, iproute2 and sudo with apt-get
// when any is missing, without starting sshd on this machine.
func EnsurePackages(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("testhost: installing packages needs root")
	}
	if Available() == nil {
		return nil
	}
	// A policy-rc.d that is already there is the machine's: leave it alone.
	if !fileExists(policyRC) {
		if err := os.WriteFile(policyRC, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policyRC)
	}
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "openssh-server", "iproute2", "sudo")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get install: %w: %s", err, tail(out))
		}
		return nil
	}
	if err := install(); err != nil {
		// The package lists may be missing or stale.
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); uerr != nil {
			return fmt.Errorf("testhost: %w; apt-get update: %v: %s", err, uerr, tail(out))
		}
		if err := install(); err != nil {
			return fmt.Errorf("testhost: %w", err)
		}
	}
	return Available()
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 800 {
		s = "..." + s[len(s)-800:]
	}
	return s
}
