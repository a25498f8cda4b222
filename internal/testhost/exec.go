package testhost

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exec runs a shell command inside the host (all of its namespaces, as root)
// and returns its stdout; a failure carries the exit status and stderr.
func (h *Host) Exec(ctx context.Context, command string) ([]byte, error) {
	return h.ExecInput(ctx, nil, command)
}

// ExecInput is Exec with stdin.
func (h *Host) ExecInput(ctx context.Context, stdin []byte, command string) ([]byte, error) {
	pid, err := h.pid1()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w",
		"--", "/bin/sh", "-c", command)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C", "USER=root", "LOGNAME=root",
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	// nsenter forks the command into the host's PID namespace; killing the
	// whole process group on cancel takes that child along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %q: %w: %s", h.Name, command, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// WaitFor runs the shell condition cond in the host until it succeeds, or
// fails when timeout passes with cond's last error.
func (h *Host) WaitFor(ctx context.Context, cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := h.Exec(ctx, cond)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitConnectionsClosed waits until sshd (the host's PID 1) has no
// connection process left: every connection has ended and sshd has logged
// how.
func (h *Host) WaitConnectionsClosed(ctx context.Context, timeout time.Duration) error {
	return h.WaitFor(ctx, "! pgrep -P 1 -x sshd", timeout)
}

// SetPassword sets a user's password on the host.
func (h *Host) SetPassword(ctx context.Context, user, password string) error {
	if strings.ContainsAny(user, ":\n") || strings.Contains(password, "\n") {
		return fmt.Errorf("testhost: bad user or password for %s", user)
	}
	_, err := h.ExecInput(ctx, []byte(user+":"+password+"\n"), "chpasswd")
	return err
}

// AddUser creates a user with a home directory. An empty password leaves
// the account without one (key login still works). With sudo the user may
// run anything as root, asked for its password when sudoPassword is set and
// without one otherwise (NOPASSWD).
func (h *Host) AddUser(ctx context.Context, name, password string, sudo, sudoPassword bool) error {
	if !validName(name) {
		return fmt.Errorf("testhost: bad user name %q", name)
	}
	if _, err := h.Exec(ctx, "useradd -m -s /bin/bash "+name); err != nil {
		return err
	}
	if password != "" {
		if err := h.SetPassword(ctx, name, password); err != nil {
			return err
		}
	} else if _, err := h.Exec(ctx, "usermod -p '*' "+name); err != nil {
		// "*": no password, yet not locked ("!"), which sshd would refuse
		// even for key logins.
		return err
	}
	if !sudo {
		return nil
	}
	rule := name + " ALL=(ALL:ALL) ALL"
	if !sudoPassword {
		rule = name + " ALL=(ALL:ALL) NOPASSWD: ALL"
	}
	_, err := h.ExecInput(ctx, []byte(rule+"\n"),
		"test -x /usr/bin/sudo || { echo 'sudo is not installed' >&2; exit 1; }; "+
			"cat > /etc/sudoers.d/spk-"+name+" && chmod 0440 /etc/sudoers.d/spk-"+name)
	return err
}

// AuthorizeKey adds an authorized_keys line (as ssh.MarshalAuthorizedKey
// writes it) for user.
func (h *Host) AuthorizeKey(ctx context.Context, user, pubkey string) error {
	if !validName(user) {
		return fmt.Errorf("testhost: bad user name %q", user)
	}
	line := strings.TrimSpace(pubkey) + "\n"
	script := `set -e
home=$(getent passwd ` + user + ` | cut -d: -f6)
test -n "$home"
mkdir -p "$home/.ssh"
cat >> "$home/.ssh/authorized_keys"
chmod 700 "$home/.ssh"
chmod 600 "$home/.ssh/authorized_keys"
chown -R ` + user + `: "$home/.ssh"
# sshd refuses locked accounts even for keys: "!" becomes "*".
if getent shadow ` + user + ` | cut -d: -f2 | grep -q '^!'; then usermod -p '*' ` + user + `; fi
`
	_, err := h.ExecInput(ctx, []byte(line), script)
	return err
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r == '_' || i > 0 && (r >= '0' && r <= '9' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}
