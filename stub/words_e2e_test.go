package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/testhost"
)

// cleanEnv is the environment of an installer under test: no ssh-agent,
// no SEALPACK_* secrets of the caller, a home of its own (no known_hosts).
func cleanEnv(t *testing.T, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SSH_AUTH_SOCK=") || strings.HasPrefix(kv, "SEALPACK_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "HOME="+t.TempDir()), extra...)
}

// runInstaller runs the installer in dir without a terminal and returns
// its combined output and exit status.
func runInstaller(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "app-installer.run"), args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	}
	t.Fatalf("running the installer: %v", err)
	return "", -1
}

// TestUnattendedUnknownHostKey: an unknown host key in --unattended says
// how to trust it, names the key's type and the file to compare it with,
// and names the host once per line (seen: "run the same command again to
// resume", which fails again the same way).
func TestUnattendedUnknownHostKey(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{RootPassword: rootPassword})
	h := w.Hosts[0]
	dir := t.TempDir()
	smallInstaller(t, dir)
	cf := filepath.Join(dir, "Clusterfile")
	os.WriteFile(cf, []byte("apiVersion: sealer.cloud/v2\nkind: Cluster\nmetadata: {name: keys}\nspec:\n  ssh: {passwd: "+rootPassword+"}\n  hosts:\n  - ips: ["+h.IP+"]\n    roles: [master]\n"), 0o600)
	env := cleanEnv(t)
	out, code := runInstaller(t, dir, env, "--unattended", "-f", cf)
	t.Logf("output:\n%s", out)
	if code == 0 {
		t.Fatal("an unknown host key was accepted without --accept-new-host-keys")
	}
	fp := gossh.FingerprintSHA256(h.HostKey)
	for _, want := range []string{
		"unknown ED25519 host key " + fp,
		"ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
		"--unattended -f " + cf + " --accept-new-host-keys\n",
		filepath.Join(dir, ".sealpack", "known_hosts"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q", want)
		}
	}
	if strings.Contains(out, "run the same command again to resume") {
		t.Error("the output says to run the same command again, which refuses the key again")
	}
	for _, line := range strings.Split(out, "\n") {
		if n := strings.Count(line, h.IP); n > 1 {
			t.Errorf("the host is named %d times in %q", n, line)
		}
	}
	// The command it gives goes on (a dry run is enough to pass the key).
	if out, code := runInstaller(t, dir, env, "--unattended", "-f", cf, "--accept-new-host-keys", "--dry-run"); code != 0 {
		t.Errorf("with --accept-new-host-keys: status %d\n%s", code, out)
	}
}

// TestNoPasswordWithoutTerminal: join and reset with a Clusterfile that
// holds no password, no key and no agent, and no terminal to ask on, name
// the variables to set (seen: "no way to log in" and nothing else).
func TestNoPasswordWithoutTerminal(t *testing.T) {
	dir := t.TempDir()
	smallInstaller(t, dir)
	cf := filepath.Join(dir, "Clusterfile")
	os.WriteFile(cf, []byte("apiVersion: sealer.cloud/v2\nkind: Cluster\nmetadata: {name: nopw}\nspec:\n  hosts:\n  - ips: [192.0.2.11]\n    roles: [master]\n"), 0o600)
	for _, args := range [][]string{{"reset", "-f", cf, "--yes"}, {"join", "-f", cf, "--nodes", "192.0.2.12"}, {"--unattended", "-f", cf}} {
		out, code := runInstaller(t, dir, cleanEnv(t), args...)
		if code == 0 || !strings.Contains(out, clusterfile.PasswordEnv) || !strings.Contains(out, "run this on a terminal to be asked") {
			t.Errorf("%s: status %d, want one that names %s and the terminal:\n%s", args[0], code, clusterfile.PasswordEnv, out)
		}
	}
}

// TestResetAsksForPasswords: on a terminal, reset asks for the login
// password the Clusterfile leaves out, as the wizard does, and for the sudo
// password of a key login; without a terminal, sudo's refusal names
// SEALPACK_SUDO_PASSWORD (seen: "sudo: a password is required" alone).
func TestResetAsksForPasswords(t *testing.T) {
	needTmux(t)
	const sudoPassword = "sudo-Pw-e2e"
	w := testhost.New(t, 1, testhost.Options{RootPassword: rootPassword})
	h := w.Hosts[0]
	ctx := context.Background()
	dir := t.TempDir()
	smallInstaller(t, dir)
	home := t.TempDir()
	shell := "env -u SSH_AUTH_SOCK HOME=" + shQuote(home) + " ./app-installer.run "

	// The root password, asked.
	os.WriteFile(filepath.Join(dir, "Clusterfile"), []byte("apiVersion: sealer.cloud/v2\nkind: Cluster\nmetadata: {name: ask}\nspec:\n  hosts:\n  - ips: ["+h.IP+"]\n    roles: [master]\n"), 0o600)
	m := startTerminal(t, dir, shell+"reset -f Clusterfile --yes --accept-new-host-keys")
	m.waitFor(20*time.Second, "Password of root on "+h.IP+" ("+clusterfile.PasswordEnv+"):")
	m.typeText(rootPassword)
	m.keys("Enter")
	if code, scr := m.exitStatus(60 * time.Second); code != 0 || strings.Contains(scr, rootPassword) {
		t.Errorf("reset after the password was asked: status %d\n%s", code, scr)
	}

	// A key login whose sudo wants a password.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	signer, _ := gossh.NewSignerFromKey(priv)
	if err := h.AddUser(ctx, "deploy", sudoPassword, true, true); err != nil {
		t.Fatal(err)
	}
	if err := h.AuthorizeKey(ctx, "deploy", string(gossh.MarshalAuthorizedKey(signer.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "Clusterfile"), []byte("apiVersion: sealer.cloud/v2\nkind: Cluster\nmetadata: {name: ask}\nspec:\n  ssh: {user: deploy, pk: "+key+"}\n  hosts:\n  - ips: ["+h.IP+"]\n    roles: [master]\n"), 0o600)
	out, code := runInstaller(t, dir, cleanEnv(t, "HOME="+home), "reset", "-f", "Clusterfile", "--yes")
	if code == 0 || !strings.Contains(out, "a password is required") || !strings.Contains(out, "set "+clusterfile.SudoPasswordEnv) {
		t.Errorf("reset by key without the sudo password: status %d, want one that names %s:\n%s", code, clusterfile.SudoPasswordEnv, out)
	}
	m = startTerminal(t, dir, shell+"reset -f Clusterfile --yes")
	m.waitFor(20*time.Second, "Sudo password of deploy on "+h.IP+" ("+clusterfile.SudoPasswordEnv+"; empty if sudo asks for none):")
	m.typeText(sudoPassword)
	m.keys("Enter")
	if code, scr := m.exitStatus(60 * time.Second); code != 0 || strings.Contains(scr, sudoPassword) {
		t.Errorf("reset after the sudo password was asked: status %d\n%s", code, scr)
	}
}
