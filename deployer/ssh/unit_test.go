package ssh

// Tests that need no SSH server.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sealpack/sealpack/internal/shell"
)

func TestBuildScript(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  string
		opts []RunOption
		want string
		err  string
	}{
		{"plain", "kubeadm init", nil, "kubeadm init\n", ""},
		{"env and dir", "make", []RunOption{Env("A=1", "B=it's"), Dir("/var/lib/sealpack/rootfs")},
			"export A='1'\nexport B='it'\\''s'\ncd '/var/lib/sealpack/rootfs' || exit 1\nmake\n", ""},
		{"empty value", "x", []RunOption{Env("EMPTY=")}, "export EMPTY=''\nx\n", ""},
		{"bad name", "x", []RunOption{Env("A-B=secret")}, "", `environment entry "A-B"`},
		{"no equals", "x", []RunOption{Env("JUSTNAME")}, "", `environment entry "JUSTNAME"`},
		{"nul", "a\x00b", nil, "", "NUL byte"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := buildScript(c.cmd, NewRunOptions(c.opts...))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "secret") {
					t.Errorf("error %v, want %q (and no value)", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %q, %v\nwant %q", got, err, c.want)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	m := marker("sealpack-0011223344556677")
	body := evalBody(42)
	wrapped := shell.Quote(m.wrapper(body))
	for mode, want := range map[sudoMode]string{
		noSudo:       "sh -c " + wrapped,
		sudoPassword: "sudo -H -S -p 'sealpack-0011223344556677 pw:' sh -c " + wrapped,
		sudoNoPrompt: "sudo -H -n sh -c " + wrapped,
	} {
		if got := m.commandLine(body, mode); got != want {
			t.Errorf("mode %d:\n got %s\nwant %s", mode, got, want)
		}
	}
}

// TestWrapperProtocol runs the wrapper in a local sh exactly as a host
// would: the ready line, then the script read from stdin, then the
// command's own stdin. Values with every kind of shell syntax survive.
func TestWrapperProtocol(t *testing.T) {
	tricky := "a 'b' \"c\" $HOME `id` $(id) \\ ; | & * \n second line"
	script, err := buildScript(`printf '%s' "$V"; echo; pwd; cat; exit 3`, NewRunOptions(Env("V="+tricky), Dir("/tmp")))
	if err != nil {
		t.Fatal(err)
	}
	m := newMarker()
	cmd := exec.Command("sh", "-c", m.wrapper(evalBody(len(script))))
	cmd.Stdin = strings.NewReader(script + "rest of stdin")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	scanner := newStderrScanner(m, &stderr)
	cmd.Stderr = scanner
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("exit: %v", err)
	}
	if want := tricky + "\n/tmp\nrest of stdin"; stdout.String() != want {
		t.Errorf("stdout:\n got %q\nwant %q", stdout.String(), want)
	}
	select {
	case pgid := <-scanner.readyCh:
		if pgid <= 1 {
			t.Errorf("pgid %d", pgid)
		}
	default:
		t.Error("no ready line")
	}
	if stderr.Len() != 0 {
		t.Errorf("marker leaked into stderr: %q", stderr.String())
	}
}

func TestStderrScanner(t *testing.T) {
	m := marker("sealpack-aa")
	stream := "We trust you have received the usual lecture\n" + m.prompt() +
		"Sorry, try again.\n" + m.prompt() + m.ready() + "4711\nreal stderr\n"
	// Every split of the stream into two writes gives the same result.
	for cut := 0; cut <= len(stream); cut++ {
		var user bytes.Buffer
		s := newStderrScanner(m, &user)
		s.Write([]byte(stream[:cut]))
		s.Write([]byte(stream[cut:]))
		if n := len(s.prompts); n != 2 {
			t.Fatalf("cut %d: %d prompts", cut, n)
		}
		if pgid := <-s.readyCh; pgid != 4711 {
			t.Fatalf("cut %d: pgid %d", cut, pgid)
		}
		want := "We trust you have received the usual lecture\nSorry, try again.\nreal stderr\n"
		if user.String() != want {
			t.Fatalf("cut %d: passed on %q", cut, user.String())
		}
	}
	// A stream that ends before ready keeps its text for the error.
	s := newStderrScanner(m, nil)
	s.Write([]byte("sudo: a password is required\n"))
	s.flush()
	if got := s.tail(); got != "sudo: a password is required" {
		t.Errorf("tail: %q", got)
	}
	// The tail is bounded.
	s = newStderrScanner(m, nil)
	s.Write([]byte(m.ready() + "1\n"))
	<-s.readyCh
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(s, "line %d\n", i)
	}
	if got := s.tail(); !strings.HasPrefix(got, "...") || !strings.HasSuffix(got, "line 999") || len(got) > tailSize+3 {
		t.Errorf("long tail: %d bytes, %q...", len(got), got[:20])
	}
}

func TestRunErrorText(t *testing.T) {
	for _, c := range []struct {
		e    RunError
		want string
	}{
		{RunError{Host: "10.0.0.3", Cmd: "kubeadm init", ExitCode: 1, Stderr: "boom"}, `host 10.0.0.3: "kubeadm init": exit status 1: boom`},
		{RunError{Host: "h", Cmd: "sleep", ExitCode: -1, Signal: "KILL"}, `host h: "sleep": killed by signal KILL`},
		{RunError{Host: "h", Cmd: "x", ExitCode: -1}, `host h: "x": ended without an exit status`},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %s\nwant %s", got, c.want)
		}
	}
	if got := ShortCmd("  first line\nsecond"); got != "first line ..." {
		t.Errorf("ShortCmd: %q", got)
	}
	if got := ShortCmd(strings.Repeat("x", 200)); len(got) != 80 {
		t.Errorf("ShortCmd of 200 chars: %d", len(got))
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		mode sudoMode
		pw   string
	}{
		{Config{Host: "h", Password: "p"}, noSudo, "p"},
		{Config{Host: "h", User: "root", Password: "p"}, noSudo, "p"},
		{Config{Host: "h", User: "u", Password: "p"}, sudoPassword, "p"},
		{Config{Host: "h", User: "u", Password: "p", SudoPassword: "s"}, sudoPassword, "s"},
		{Config{Host: "h", User: "u", PrivateKeyFile: "k", SudoPassword: "s"}, sudoPassword, "s"},
		{Config{Host: "h", User: "u", PrivateKeyFile: "k"}, sudoNoPrompt, ""},
	} {
		if m, pw := c.cfg.sudoMode(), c.cfg.sudoPassword(); m != c.mode || pw != c.pw {
			t.Errorf("%+v: mode %d pw %q, want %d %q", c.cfg, m, pw, c.mode, c.pw)
		}
	}
	if got := (Config{Host: "::1", Port: 2222}).addr(); got != "[::1]:2222" {
		t.Errorf("addr: %s", got)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Password: "x"}, "no host address"},
		{Config{Host: "h", Port: 70000, Password: "x"}, "port 70000 out of range"},
		{Config{Host: "h", User: "bob"}, "no way to log in as bob"},
	} {
		if err := c.cfg.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestDialerNeedsHostKeyChecker(t *testing.T) {
	d := NewDialer(nil)
	if _, err := d.Dial(context.Background(), Config{Host: "127.0.0.1", Password: "x"}); err == nil || !strings.Contains(err.Error(), "no known-hosts checker") {
		t.Errorf("dial without a checker: %v", err)
	}
}

func TestSigner(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	enc, _ := gossh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pp"))
	encPEM := pem.EncodeToMemory(enc)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing file", Config{PrivateKeyFile: filepath.Join(dir, "nope")}, "reading private key " + filepath.Join(dir, "nope")},
		{"garbage", Config{PrivateKey: []byte("not a key")}, "private key: ssh: no key found"},
		{"no passphrase", Config{PrivateKey: encPEM}, "is encrypted: give its passphrase"},
		{"wrong passphrase", Config{PrivateKey: encPEM, Passphrase: "no"}, "cannot decrypt with the passphrase given"},
		{"right passphrase", Config{PrivateKey: encPEM, Passphrase: "pp"}, ""},
	} {
		_, err := c.cfg.signer()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, _, _, err := (Config{AgentSocket: filepath.Join(dir, "no.sock")}).authMethods(); err == nil || !strings.Contains(err.Error(), "ssh-agent at") {
		t.Errorf("missing agent socket: %v", err)
	}
}

func edKey(t *testing.T) gossh.PublicKey {
	_, s := newKey(t)
	return s.PublicKey()
}

func TestKnownHostsCheck(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, ".sealpack", "known_hosts")
	user := filepath.Join(dir, "user_known_hosts")
	a, b, c := edKey(t), edKey(t), edKey(t)
	userLine := "10.0.0.9 " + string(gossh.MarshalAuthorizedKey(c))
	os.WriteFile(user, []byte(userLine), 0o600)

	refuse := mustKnownHosts(t, KnownHostsOptions{SiteFile: site, UserFiles: []string{user}})
	err := refuse.Check("10.0.0.3:22", a)
	if !errors.Is(err, ErrHostKeyUnknown) || errors.Is(err, ErrHostKeyChanged) {
		t.Errorf("unknown: %v", err)
	}
	if want := "host 10.0.0.3: unknown ED25519 host key " + gossh.FingerprintSHA256(a) + ": pass --accept-new-host-keys to trust it (it is then recorded in " + site + ")"; err.Error() != want {
		t.Errorf("unknown:\n got %s\nwant %s", err, want)
	}
	if err := refuse.Check("10.0.0.9:22", c); err != nil {
		t.Errorf("key from the user file: %v", err)
	}

	accept := mustKnownHosts(t, KnownHostsOptions{SiteFile: site, UserFiles: []string{user}, Unknown: AcceptNew})
	if err := accept.Check("10.0.0.3:22", a); err != nil {
		t.Fatal(err)
	}
	if err := accept.Check("10.0.0.4:2222", b); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(site)
	want := "10.0.0.3 " + string(gossh.MarshalAuthorizedKey(a)) + "[10.0.0.4]:2222 " + string(gossh.MarshalAuthorizedKey(b))
	if string(got) != want {
		t.Errorf("site file:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(site); fi.Mode().Perm() != 0o600 {
		t.Errorf("site file mode %v", fi.Mode())
	}
	if u, _ := os.ReadFile(user); string(u) != userLine {
		t.Error("user file written")
	}
	// Port matters: the key for 10.0.0.4:2222 is not one for port 22.
	fresh := mustKnownHosts(t, KnownHostsOptions{SiteFile: site})
	if err := fresh.Check("10.0.0.4:22", b); !errors.Is(err, ErrHostKeyUnknown) {
		t.Errorf("port 22 vs 2222: %v", err)
	}
	if err := fresh.Check("10.0.0.4:2222", b); err != nil {
		t.Errorf("recorded [10.0.0.4]:2222: %v", err)
	}

	// Changed: refused whatever the policy, with both fingerprints.
	err = accept.Check("10.0.0.3:22", b)
	want = fmt.Sprintf("host 10.0.0.3: HOST KEY CHANGED: known ED25519 %s, now offered ED25519 %s (remove the line in %s if the host was reinstalled)",
		gossh.FingerprintSHA256(a), gossh.FingerprintSHA256(b), site)
	if !errors.Is(err, ErrHostKeyChanged) || err.Error() != want {
		t.Errorf("changed:\n got %v\nwant %s", err, want)
	}
	err = accept.Check("10.0.0.9:22", a)
	if !errors.Is(err, ErrHostKeyChanged) || !strings.Contains(err.Error(), "remove the line in "+user) {
		t.Errorf("changed, known from the user file: %v", err)
	}
	if got2, _ := os.ReadFile(site); !bytes.Equal(got, got2) {
		t.Error("site file changed by refusals")
	}

	// Algorithms follow the recorded key types.
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaPub, _ := gossh.NewPublicKey(&rsaKey.PublicKey)
	os.WriteFile(user, []byte(userLine+"10.0.0.9 "+string(gossh.MarshalAuthorizedKey(rsaPub))), 0o600)
	kh := mustKnownHosts(t, KnownHostsOptions{SiteFile: site, UserFiles: []string{user}})
	if got := fmt.Sprint(kh.Algorithms("10.0.0.9:22")); got != "[ssh-ed25519 rsa-sha2-512 rsa-sha2-256 ssh-rsa]" {
		t.Errorf("algorithms: %s", got)
	}
	if got := kh.Algorithms("10.9.9.9:22"); got != nil {
		t.Errorf("algorithms of an unknown host: %v", got)
	}
}

// TestHostKeyTypeNamed: the error names the type of the key offered and
// the file on the host that holds it, so that the user compares the
// fingerprint with the right one (seen: an ECDSA fingerprint to compare
// with ssh_host_ed25519_key.pub).
func TestHostKeyTypeNamed(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := gossh.NewPublicKey(&ecKey.PublicKey)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaPub, _ := gossh.NewPublicKey(&rsaKey.PublicKey)
	for _, tc := range []struct {
		key        gossh.PublicKey
		name, file string
	}{
		{edKey(t), "ED25519", "/etc/ssh/ssh_host_ed25519_key.pub"},
		{ecPub, "ECDSA", "/etc/ssh/ssh_host_ecdsa_key.pub"},
		{rsaPub, "RSA", "/etc/ssh/ssh_host_rsa_key.pub"},
	} {
		kh := mustKnownHosts(t, KnownHostsOptions{SiteFile: filepath.Join(t.TempDir(), "known_hosts")})
		err := kh.Check("10.0.0.3:22", tc.key)
		var he *HostKeyError
		if !errors.As(err, &he) || he.OfferedType != tc.name || he.KeyFile() != tc.file {
			t.Errorf("%s key: %#v", tc.name, err)
			continue
		}
		if want := "unknown " + tc.name + " host key " + gossh.FingerprintSHA256(tc.key); !strings.Contains(err.Error(), want) {
			t.Errorf("%s key: %q does not say %q", tc.name, err, want)
		}
	}
	if got := KeyTypeName("ecdsa-sha2-nistp521"); got != "ECDSA" {
		t.Errorf("nistp521: %s", got)
	}
}

func TestKnownHostsBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "known_hosts")
	os.WriteFile(bad, []byte("10.0.0.1 ssh-ed25519 AAAA\n"), 0o600)
	if _, err := NewKnownHosts(KnownHostsOptions{SiteFile: bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt file: %v", err)
	}
	if _, err := NewKnownHosts(KnownHostsOptions{}); err == nil {
		t.Error("no site file accepted")
	}
	// Missing files are fine: nothing is known yet.
	kh := mustKnownHosts(t, KnownHostsOptions{SiteFile: filepath.Join(dir, "none"), UserFiles: []string{filepath.Join(dir, "neither")}})
	if err := kh.Check("h:22", edKey(t)); !errors.Is(err, ErrHostKeyUnknown) {
		t.Errorf("empty: %v", err)
	}
}
