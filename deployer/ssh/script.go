package ssh

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/internal/shell"
)

// How a command reaches a host. The command line that sshd (and ps) sees is
// fixed and holds no data:
//
//	[sudo -H -S -p '<marker> pw:'] sh -c '<wrapper>'
//
// The wrapper reports "<marker> ready <pgid>" on stderr, then reads exactly
// the script's length from stdin with head -c and evals it, leaving the rest
// of stdin to the command. The script holds the environment as export lines,
// the working directory and the command. The caller writes the sudo password
// only after seeing sudo's prompt (a cached or NOPASSWD sudo never prompts,
// and a password written blindly would become the command's input), and the
// script only after the ready line.

// marker is a random token that tells the wrapper's messages apart from the
// command's own output.
type marker string

func newMarker() marker {
	b := make([]byte, 8)
	rand.Read(b)
	return marker("sealpack-" + hex.EncodeToString(b))
}

func (m marker) prompt() string { return string(m) + " pw:" }
func (m marker) ready() string  { return string(m) + " ready " }

// wrapper is the shell text run by sh -c; body runs after the ready line.
func (m marker) wrapper(body string) string {
	return `read -r _ _ _ _ g _ </proc/$$/stat 2>/dev/null || g=0; echo "` + m.ready() + `$g" >&2; ` + body
}

// evalBody runs the script of n bytes that follows on stdin.
func evalBody(n int) string { return fmt.Sprintf(`eval "$(head -c %d)"`, n) }

// sftpServerBody execs the host's SFTP server, wherever the distribution
// put it (Debian, RHEL, Arch/SUSE, Alpine).
const sftpServerBody = `for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server /usr/lib/sftp-server; do [ -x "$p" ] && exec "$p"; done; echo "no sftp-server found" >&2; exit 127`

// sudoMode is how a command is raised to root.
type sudoMode int

const (
	noSudo       sudoMode = iota // root already, or NoSudo
	sudoPassword                 // sudo -S, password on stdin when prompted
	sudoNoPrompt                 // sudo -n: fail rather than wait for a password
)

// commandLine is what the session executes.
func (m marker) commandLine(body string, mode sudoMode) string {
	sh := "sh -c " + shell.Quote(m.wrapper(body))
	switch mode {
	case sudoPassword:
		return "sudo -H -S -p " + shell.Quote(m.prompt()) + " " + sh
	case sudoNoPrompt:
		return "sudo -H -n " + sh
	}
	return sh
}

// buildScript turns a command and its options into the script sent on stdin.
func buildScript(cmd string, o RunOptions) (string, error) {
	var b strings.Builder
	for _, kv := range o.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !validEnvName(name) {
			return "", fmt.Errorf("environment entry %q: want NAME=value with NAME of letters, digits and _", envName(kv))
		}
		fmt.Fprintf(&b, "export %s=%s\n", name, shell.Quote(value))
	}
	if o.Dir != "" {
		fmt.Fprintf(&b, "cd %s || exit 1\n", shell.Quote(o.Dir))
	}
	b.WriteString(cmd)
	b.WriteByte('\n')
	s := b.String()
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("command %q holds a NUL byte", ShortCmd(cmd))
	}
	return s, nil
}

// envName shows only the name of a bad entry: its value may be a secret.
func envName(kv string) string {
	name, _, _ := strings.Cut(kv, "=")
	return name
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
