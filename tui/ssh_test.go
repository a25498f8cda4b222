package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// toSSH goes to the SSH screen with one master and two nodes.
func toSSH(t *testing.T, opts Options, size ...int) *wizard {
	t.Helper()
	w := toHosts(t, opts, size...)
	if opts.Initial == nil {
		w.typ("10.0.0.11")
		w.enter()
		w.typ("10.0.0.12,10.0.0.13")
		w.enter()
		w.waitText("10.0.0.13")
	}
	w.enter()
	w.waitText("SSH login")
	return w
}

func TestSSH(t *testing.T) {
	w := toSSH(t, Options{})
	t.Run("initial", func(t *testing.T) {
		w.golden(t, w.snap())
	})
	w.enter() // user root -> log in with
	w.key(tea.KeyRight)
	t.Run("key-file", func(t *testing.T) {
		w.golden(t, w.waitText("Passphrase"))
	})
	w.key(tea.KeyLeft)
	w.enter() // -> password
	w.typ("s3cret")
	w.enter() // -> port
	w.key(tea.KeyCtrlU)
	w.typ("99999")
	w.enter() // -> bastion (root needs no sudo password)
	w.enter() // last field: submit
	t.Run("bad-port", func(t *testing.T) {
		s := w.waitText("a port is a number")
		if strings.Contains(s, "s3cret") {
			t.Error("the password is shown in clear")
		}
		w.golden(t, s)
	})
	w.key(tea.KeyCtrlU)
	w.typ("22")
	w.enter()
	w.enter()
	w.waitText("Preflight")
	v := w.m.ssh.values()
	if v.user != "root" || v.passwd != "s3cret" || v.port != 22 || v.method != authPassword || v.bastion != "" {
		t.Errorf("values = %+v", v)
	}
	c := w.m.cluster
	if c.SSH.Passwd != "s3cret" || c.SSH.User != "root" || c.SSH.Port != 22 || c.SSH.Bastion != nil {
		t.Errorf("cluster SSH = %+v", c.SSH)
	}
}

func TestSSHKeyFile(t *testing.T) {
	w := toSSH(t, Options{})
	w.enter()
	w.key(tea.KeyRight) // key file
	w.enter()
	w.typ("/nonexistent/id_ed25519")
	w.enter() // passphrase
	w.enter() // port
	w.enter() // bastion
	w.enter() // submit
	w.waitText("cannot read /nonexistent/id_ed25519: no such file or")
	if w.m.ssh.focus != fKey {
		t.Errorf("focus on field %d, want the key file", w.m.ssh.focus)
	}
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(key, []byte("not checked here"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.key(tea.KeyCtrlU)
	w.typ(key)
	w.enter()
	w.typ("phrase")
	w.enter()
	w.enter()
	w.enter()
	w.waitText("Preflight")
	s := w.m.cluster.SSH
	if s.PK != key || s.PKPasswd != "phrase" || s.Passwd != "" {
		t.Errorf("cluster SSH = %+v", s)
	}
}

func TestSSHAgentSudoBastion(t *testing.T) {
	w := toSSH(t, Options{})
	w.key(tea.KeyCtrlU)
	w.typ("deploy")
	w.enter()
	w.key(tea.KeyRight)
	w.key(tea.KeyRight) // ssh-agent
	w.enter()           // port
	w.enter()           // sudo password
	w.typ("sudo-pw")
	w.enter() // bastion
	w.typ("10.0.0.1")
	w.enter() // bastion user
	w.typ("jump")
	w.enter() // bastion port
	t.Run("agent-bastion", func(t *testing.T) {
		w.golden(t, w.waitText("› Bastion port"))
	})
	w.enter()
	w.waitText("Preflight")
	s := w.m.cluster.SSH
	if s.User != "deploy" || s.Passwd != "" || s.PK != "" || s.SudoPasswd != "sudo-pw" {
		t.Errorf("cluster SSH = %+v", s)
	}
	if s.Bastion == nil || s.Bastion.Host != "10.0.0.1" || s.Bastion.User != "jump" || s.Bastion.Port != 0 {
		t.Errorf("bastion = %+v", s.Bastion)
	}
}

func TestSSHFromClusterfile(t *testing.T) {
	w := toSSH(t, Options{Initial: parseInitial(t)})
	s := w.snap()
	for _, want := range []string{"ops", "/root/.ssh/id_ed25519", "2222", "(•) key file"} {
		if !strings.Contains(s, want) {
			t.Errorf("the form does not start from the Clusterfile's %q:\n%s", want, s)
		}
	}
}

// TestSSHSudoWithKey: with a key login there is no login password for sudo
// to fall back on, and the form says so (seen: "Sudo password (same as the
// login's)" with a key login).
func TestSSHSudoWithKey(t *testing.T) {
	w := toSSH(t, Options{})
	w.key(tea.KeyCtrlU)
	w.typ("deploy")
	w.enter()
	w.key(tea.KeyRight) // key file
	w.enter()           // key file
	w.enter()           // passphrase
	w.enter()           // port
	w.enter()           // sudo password
	s := w.waitText("› Sudo password")
	if strings.Contains(s, "same as the login's") || !strings.Contains(s, "Sudo password   (none)") || !strings.Contains(s, "empty when sudo asks for none") {
		t.Errorf("the sudo password of a key login:\n%s", s)
	}
	w.typ("sudo-pw")
	s = w.waitText("a re-run reads")
	if !strings.Contains(s, "a re-run reads "+clusterfile.SudoPasswordEnv+" or asks again") || strings.Contains(s, clusterfile.PasswordEnv) {
		t.Errorf("the variables named for a key login with sudo:\n%s", s)
	}
	// With a password, sudo falls back on it.
	w.key(tea.KeyUp)
	w.key(tea.KeyUp)
	w.key(tea.KeyUp)
	w.key(tea.KeyUp)
	w.key(tea.KeyLeft) // password
	w.key(tea.KeyDown)
	w.key(tea.KeyDown)
	w.key(tea.KeyDown) // sudo
	s = w.waitText("› Sudo password")
	if !strings.Contains(s, "only when sudo asks for a password other than the login's") {
		t.Errorf("the sudo password of a password login:\n%s", s)
	}
}
