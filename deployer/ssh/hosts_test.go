package ssh

// Tests against real OpenSSH servers in network namespaces (testhost);
// they skip when not root.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// site is a run's known-hosts setup in a temp dir.
type site struct {
	file string
	kh   *KnownHosts
	d    *Dialer
}

func newSite(t *testing.T, policy UnknownKeyPolicy, opts ...DialerOption) *site {
	t.Helper()
	s := &site{file: filepath.Join(t.TempDir(), ".sealpack", "known_hosts")}
	var err error
	s.kh, err = NewKnownHosts(KnownHostsOptions{SiteFile: s.file, Unknown: policy})
	if err != nil {
		t.Fatal(err)
	}
	s.d = NewDialer(s.kh, opts...)
	t.Cleanup(func() { s.d.Close() })
	return s
}

func (s *site) dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := s.d.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rootConfig(h *testhost.Host) Config {
	return Config{Host: h.IP, Password: testhost.DefaultRootPassword}
}

func run(t *testing.T, r *Client, cmd string, opts ...RunOption) string {
	t.Helper()
	out, err := r.Run(context.Background(), cmd, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func newKey(t *testing.T) (ed25519.PrivateKey, gossh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s
}

func authorize(t *testing.T, h *testhost.Host, user string, s gossh.Signer) {
	t.Helper()
	if err := h.AuthorizeKey(context.Background(), user, string(gossh.MarshalAuthorizedKey(s.PublicKey()))); err != nil {
		t.Fatal(err)
	}
}

func TestRunByPassword(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	s := newSite(t, AcceptNew)
	c := s.dial(t, rootConfig(w.Hosts[0]))

	if got := run(t, c, "hostname"); got != "host-1" {
		t.Errorf("hostname = %q", got)
	}
	got := run(t, c, `printf '%s|%s|' "$A" "$B"; pwd; cat`,
		Env("A=it's \"quoted\" $HOME", "B=x=y"), Dir("/usr/local"), Stdin(strings.NewReader("from stdin")))
	if want := "it's \"quoted\" $HOME|x=y|/usr/local\nfrom stdin"; got != want {
		t.Errorf("env, dir, stdin: got %q, want %q", got, want)
	}
	// Without Stdin the command reads EOF instead of hanging.
	if got := run(t, c, "cat; echo done"); got != "done" {
		t.Errorf("cat without stdin: %q", got)
	}
	var streamed bytes.Buffer
	if out, err := c.Run(context.Background(), "seq 3", Stdout(&streamed)); err != nil || out != nil || streamed.String() != "1\n2\n3\n" {
		t.Errorf("Stdout option: out %q, streamed %q, err %v", out, streamed.String(), err)
	}

	_, err := c.Run(context.Background(), "echo partial; echo 'it broke' >&2; exit 7")
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 7 || re.Stderr != "it broke" || re.Host != w.Hosts[0].IP {
		t.Fatalf("failing command: %#v (%v)", re, err)
	}
	if want := fmt.Sprintf("host %s: \"echo partial; echo 'it broke' >&2; exit 7\": exit status 7: it broke", w.Hosts[0].IP); err.Error() != want {
		t.Errorf("error text\n got: %s\nwant: %s", err, want)
	}
	if _, err := c.Run(context.Background(), "true", Env("1BAD=x")); err == nil || !strings.Contains(err.Error(), `"1BAD"`) {
		t.Errorf("bad env name: %v", err)
	}
	if _, err := c.Run(context.Background(), "sleep 5", Timeout(200*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Timeout: %v", err)
	}

	// One connection for all of the above.
	log, _ := w.Hosts[0].SSHDLog()
	if n := strings.Count(log, "Accepted password for root"); n != 1 {
		t.Errorf("%d logins for one client, want 1:\n%s", n, log)
	}
}

func TestRunsInParallelOnOneConnection(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	c := newSite(t, AcceptNew).dial(t, rootConfig(w.Hosts[0]))
	ctx := context.Background()
	start := time.Now()
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			out, err := c.Run(ctx, fmt.Sprintf("sleep 0.3; echo %d", i))
			if err == nil && strings.TrimSpace(string(out)) != fmt.Sprint(i) {
				err = fmt.Errorf("run %d printed %q", i, out)
			}
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// 20 runs of 0.3 s with at most 7 at once: 3 rounds, not 20.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("20 parallel runs took %v", d)
	}
}

func TestPrivateKeyAuth(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	s := newSite(t, AcceptNew)
	priv, signer := newKey(t)
	authorize(t, h, "root", signer)

	block, _ := gossh.MarshalPrivateKey(priv, "")
	plain := pem.EncodeToMemory(block)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(keyFile, plain, 0o600)
	if got := run(t, s.dial(t, Config{Host: h.IP, PrivateKeyFile: keyFile}), "id -un"); got != "root" {
		t.Errorf("key file: %q", got)
	}

	block, _ = gossh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("open sesame"))
	encrypted := pem.EncodeToMemory(block)
	if got := run(t, s.dial(t, Config{Host: h.IP, PrivateKey: encrypted, Passphrase: "open sesame"}), "id -un"); got != "root" {
		t.Errorf("encrypted key: %q", got)
	}
	_, err := s.d.Dial(context.Background(), Config{Host: h.IP, PrivateKey: encrypted})
	if err == nil || !strings.Contains(err.Error(), "encrypted: give its passphrase") {
		t.Errorf("encrypted key without passphrase: %v", err)
	}
	_, err = s.d.Dial(context.Background(), Config{Host: h.IP, PrivateKey: encrypted, Passphrase: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Errorf("wrong passphrase: %v", err)
	}
	// A key the host does not know.
	other, _ := newKey(t)
	block, _ = gossh.MarshalPrivateKey(other, "")
	if _, err := s.d.Dial(context.Background(), Config{Host: h.IP, PrivateKey: pem.EncodeToMemory(block)}); !errors.Is(err, ErrAuth) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	s := newSite(t, AcceptNew)
	_, err := s.d.Dial(context.Background(), Config{Host: h.IP, Password: "wrong"})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "host "+h.IP) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v", err)
	}
	// Nothing listens on port 2222: refused at once, named.
	_, err = s.d.Dial(context.Background(), Config{Host: h.IP, Port: 2222, Password: "x"})
	if err == nil || !strings.Contains(err.Error(), "host "+h.IP+":2222: connecting") {
		t.Errorf("closed port: %v", err)
	}
	if _, err := s.d.Dial(context.Background(), Config{Host: h.IP}); err == nil || !strings.Contains(err.Error(), "no way to log in as root") {
		t.Errorf("no credentials: %v", err)
	}
	// An address nobody answers: the connect timeout ends it.
	if err := w.Partition(0); err != nil {
		t.Fatal(err)
	}
	quick := newSite(t, AcceptNew, WithConnectTimeout(time.Second))
	start := time.Now()
	_, err = quick.d.Dial(context.Background(), rootConfig(h))
	if err == nil || !strings.Contains(err.Error(), "host "+h.IP) || time.Since(start) > 4*time.Second {
		t.Errorf("partitioned host: %v after %v", err, time.Since(start))
	}
	// And so does the caller's context.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s.d.Dial(ctx, rootConfig(h)); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("dial with a short context: %v after %v", err, time.Since(start))
	}
}

func TestAgentAuth(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	priv, signer := newKey(t)
	authorize(t, h, "root", signer)

	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()
	s := newSite(t, AcceptNew)
	if got := run(t, s.dial(t, Config{Host: h.IP, AgentSocket: sock}), "id -un"); got != "root" {
		t.Errorf("agent: %q", got)
	}
	// An agent without the right key fails cleanly.
	keyring.RemoveAll()
	if _, err := s.d.Dial(context.Background(), Config{Host: h.IP, AgentSocket: sock}); !errors.Is(err, ErrAuth) {
		t.Errorf("agent without key: %v", err)
	}
}

// cmdlinesContaining lists the command lines of processes on h that contain
// any of needles (read from /proc inside the host).
func cmdlinesContaining(t *testing.T, h *testhost.Host, needles ...string) []string {
	t.Helper()
	out, err := h.Exec(context.Background(), `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done`)
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, n := range needles {
			if strings.Contains(line, n) {
				hits = append(hits, line)
			}
		}
	}
	return hits
}

func TestSudoWithPassword(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	ctx := context.Background()
	if err := h.AddUser(ctx, "deploy", "Pw-4-sudo", true, true); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, AcceptNew)
	c := s.dial(t, Config{Host: h.IP, User: "deploy", Password: "Pw-4-sudo"})
	if got := run(t, c, "id -un; echo $HOME"); got != "root\n/root" {
		t.Errorf("through sudo: %q", got)
	}
	if got := run(t, c, "id -un", NoSudo()); got != "deploy" {
		t.Errorf("NoSudo: %q", got)
	}

	// While a sudo'ed command runs, neither the sudo password nor an
	// environment secret is on any command line of the host. The command
	// says it runs, then waits at a gate that opens only once the command
	// lines are read: it is running then, however slow the machine.
	const gate = "/tmp/spk-sudo-gate"
	if _, err := h.Exec(ctx, "rm -f "+gate+".reached; touch "+gate); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "touch "+gate+".reached; while [ -e "+gate+" ]; do sleep 0.02; done", Env("SECRET_TOKEN=tok-98765"))
		done <- err
	}()
	if err := h.WaitFor(ctx, "test -e "+gate+".reached", 2*time.Minute); err != nil {
		t.Fatalf("the sudo'ed command never started: %v", err)
	}
	if hits := cmdlinesContaining(t, h, "Pw-4-sudo", "tok-98765"); len(hits) > 0 {
		t.Errorf("secrets on command lines: %q", hits)
	}
	if hits := cmdlinesContaining(t, h, "sudo -H -S"); len(hits) == 0 {
		t.Error("no sudo process seen while the command ran: the check above proves nothing")
	}
	if _, err := h.Exec(ctx, "rm -f "+gate); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Files arrive as root, where only root may write.
	if err := c.Upload(ctx, strings.NewReader("data"), "/var/lib/sealpack/probe", 0o640); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "stat -c '%U %a' /var/lib/sealpack/probe"); got != "root 640" {
		t.Errorf("uploaded file: %s", got)
	}

	// A wrong sudo password is named as such, quickly (no hang on re-prompts).
	bad := s.dial(t, Config{Host: h.IP, User: "deploy", Password: "Pw-4-sudo", SudoPassword: "nope"})
	_, err := bad.Run(ctx, "true")
	if err == nil || !strings.Contains(err.Error(), "sudo refused the password of user deploy") || strings.Contains(err.Error(), "nope") {
		t.Errorf("wrong sudo password: %v", err)
	}
}

func TestSudoWithoutPassword(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	ctx := context.Background()
	if err := h.AddUser(ctx, "robot", "", true, false); err != nil {
		t.Fatal(err)
	}
	if err := h.AddUser(ctx, "asker", "", true, true); err != nil {
		t.Fatal(err)
	}
	priv, signer := newKey(t)
	authorize(t, h, "robot", signer)
	authorize(t, h, "asker", signer)
	block, _ := gossh.MarshalPrivateKey(priv, "")
	key := pem.EncodeToMemory(block)
	s := newSite(t, AcceptNew)

	if got := run(t, s.dial(t, Config{Host: h.IP, User: "robot", PrivateKey: key}), "id -un"); got != "root" {
		t.Errorf("NOPASSWD sudo: %q", got)
	}
	// A sudo password given for a host that does not ask must not end up
	// as the command's input.
	c := s.dial(t, Config{Host: h.IP, User: "robot", PrivateKey: key, SudoPassword: "unused-secret"})
	if got := run(t, c, "cat"); got != "" {
		t.Errorf("the command read %q from stdin", got)
	}
	// sudo that wants a password, with none given: -n fails at once.
	_, err := s.dial(t, Config{Host: h.IP, User: "asker", PrivateKey: key}).Run(ctx, "true")
	var re *RunError
	if !errors.As(err, &re) || !strings.Contains(re.Stderr, "password is required") {
		t.Errorf("sudo needing a password, none given: %v", err)
	}
}

func TestBastion(t *testing.T) {
	w := testhost.New(t, 2, testhost.Options{})
	jump, target := w.Hosts[0], w.Hosts[1]
	if err := w.BlockFromJump(1); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, AcceptNew)
	if _, err := s.d.Dial(context.Background(), rootConfig(target)); err == nil {
		t.Fatal("target reachable directly: the test proves nothing")
	}
	bastion := rootConfig(jump)
	cfg := rootConfig(target)
	cfg.Bastion = &bastion
	c := s.dial(t, cfg)
	if got := run(t, c, "hostname"); got != "host-2" {
		t.Errorf("through the bastion: %q", got)
	}
	if err := c.Upload(context.Background(), strings.NewReader("via"), "/tmp/x", 0o600); err != nil {
		t.Error(err)
	}
	log, _ := target.SSHDLog()
	if !strings.Contains(log, "Accepted password for root from "+jump.IP+" ") {
		t.Errorf("target's sshd saw no login from the bastion %s:\n%s", jump.IP, log)
	}
	// Both keys were checked and recorded.
	b, _ := os.ReadFile(s.file)
	for _, h := range w.Hosts {
		if !strings.Contains(string(b), h.IP+" "+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(h.HostKey)))) {
			t.Errorf("%s's key not recorded:\n%s", h.IP, b)
		}
	}
	// A second host behind the same bastion shares its connection.
	c2 := s.dial(t, cfg)
	run(t, c2, "true")
	jlog, _ := jump.SSHDLog()
	if n := strings.Count(jlog, "Accepted password"); n != 1 {
		t.Errorf("%d logins on the bastion, want 1", n)
	}
}

func TestUnknownHostKey(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	fp := gossh.FingerprintSHA256(h.HostKey)

	refuse := newSite(t, RefuseUnknown)
	_, err := refuse.d.Dial(context.Background(), rootConfig(h))
	if !errors.Is(err, ErrHostKeyUnknown) || !strings.Contains(err.Error(), "--accept-new-host-keys") || !strings.Contains(err.Error(), fp) {
		t.Errorf("refused unknown key: %v", err)
	}
	if _, err := os.Stat(refuse.file); !os.IsNotExist(err) {
		t.Errorf("refusing wrote the site file: %v", err)
	}

	// Ask (the wizard): a no refuses, a yes records.
	var asked []string
	answer := false
	kh, _ := NewKnownHosts(KnownHostsOptions{SiteFile: refuse.file, Ask: func(host, fingerprint string) bool {
		asked = append(asked, host+" "+fingerprint)
		return answer
	}})
	d := NewDialer(kh)
	defer d.Close()
	if _, err := d.Dial(context.Background(), rootConfig(h)); !errors.Is(err, ErrHostKeyUnknown) {
		t.Errorf("answered no: %v", err)
	}
	answer = true
	c, err := d.Dial(context.Background(), rootConfig(h))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if want := []string{h.IP + " " + fp, h.IP + " " + fp}; fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("asked %q, want %q", asked, want)
	}

	// Recorded: a later run that refuses unknown keys connects.
	later := NewDialer(mustKnownHosts(t, KnownHostsOptions{SiteFile: refuse.file}))
	defer later.Close()
	c, err = later.Dial(context.Background(), rootConfig(h))
	if err != nil {
		t.Fatalf("after recording: %v", err)
	}
	c.Close()
	b, _ := os.ReadFile(refuse.file)
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Errorf("site file has %d lines:\n%s", n, b)
	}
}

func mustKnownHosts(t *testing.T, o KnownHostsOptions) *KnownHosts {
	t.Helper()
	kh, err := NewKnownHosts(o)
	if err != nil {
		t.Fatal(err)
	}
	return kh
}

func TestUserKnownHostsReadNeverWritten(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	dir := t.TempDir()
	user := filepath.Join(dir, "user_known_hosts")
	line := h.IP + " " + string(gossh.MarshalAuthorizedKey(h.HostKey))
	os.WriteFile(user, []byte(line), 0o600)
	site := filepath.Join(dir, ".sealpack", "known_hosts")
	d := NewDialer(mustKnownHosts(t, KnownHostsOptions{SiteFile: site, UserFiles: []string{user, filepath.Join(dir, "missing")}}))
	defer d.Close()
	c, err := d.Dial(context.Background(), rootConfig(h))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if b, _ := os.ReadFile(user); string(b) != line {
		t.Errorf("user file changed:\n%s", b)
	}
	if _, err := os.Stat(site); !os.IsNotExist(err) {
		t.Errorf("a key known from the user file was recorded again: %v", err)
	}
	// A changed key is refused even when the stale line is in the user file.
	if err := w.Restart(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	_, err = d.Dial(context.Background(), rootConfig(h))
	if !errors.Is(err, ErrHostKeyChanged) || !strings.Contains(err.Error(), "remove the line in "+user) {
		t.Errorf("changed key known from the user file: %v", err)
	}
}

func TestChangedHostKeyRefused(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	s := newSite(t, AcceptNew)
	s.dial(t, rootConfig(h)).Close()
	oldFP := gossh.FingerprintSHA256(h.HostKey)
	before, _ := os.ReadFile(s.file)

	if err := w.Restart(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	newFP := gossh.FingerprintSHA256(h.HostKey)
	// Even with AcceptNew, and with a fresh Dialer as a later run would have.
	d := NewDialer(mustKnownHosts(t, KnownHostsOptions{SiteFile: s.file, Unknown: AcceptNew}))
	defer d.Close()
	_, err := d.Dial(context.Background(), rootConfig(h))
	want := fmt.Sprintf("host %s: HOST KEY CHANGED: known ED25519 %s, now offered ED25519 %s (remove the line in %s if the host was reinstalled)",
		h.IP, oldFP, newFP, s.file)
	if err == nil || err.Error() != want {
		t.Errorf("changed key:\n got: %v\nwant: %s", err, want)
	}
	var he *HostKeyError
	if !errors.As(err, &he) || !errors.Is(err, ErrHostKeyChanged) || he.Line != 1 {
		t.Errorf("error type: %#v", err)
	}
	if after, _ := os.ReadFile(s.file); !bytes.Equal(before, after) {
		t.Errorf("site file changed:\n%s", after)
	}
}

// A host reinstalled with a key of another type: the handshake first asks
// for the recorded type only, finds none, and the error still shows both keys.
func TestChangedHostKeyType(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := gossh.NewPublicKey(&rsaKey.PublicKey)
	file := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(file, []byte(h.IP+" "+string(gossh.MarshalAuthorizedKey(pub))), 0o600)
	d := NewDialer(mustKnownHosts(t, KnownHostsOptions{SiteFile: file, Unknown: AcceptNew}))
	defer d.Close()
	_, err = d.Dial(context.Background(), rootConfig(h))
	if !errors.Is(err, ErrHostKeyChanged) || !strings.Contains(err.Error(), "known RSA "+gossh.FingerprintSHA256(pub)+", now offered ED25519 "+gossh.FingerprintSHA256(h.HostKey)) {
		t.Errorf("recorded RSA key, host offers Ed25519: %v", err)
	}
}

func TestUploadResumeChecksum(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	c := newSite(t, AcceptNew).dial(t, rootConfig(w.Hosts[0]))
	ctx := context.Background()
	data := make([]byte, 5<<20+123)
	rand.Read(data)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	dst := "/var/lib/sealpack/rootfs/bin/blob"

	if err := c.Upload(ctx, bytes.NewReader(data), dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Sha256(ctx, dst); err != nil || got != want {
		t.Fatalf("sha256 after upload: %s, %v", got, err)
	}
	fi, err := c.Stat(ctx, dst)
	if err != nil || fi.Size != int64(len(data)) || fi.Mode.Perm() != 0o755 || fi.IsDir() {
		t.Errorf("stat: %+v, %v", fi, err)
	}

	// A half-copied file (as a killed run leaves it) is completed from its size.
	half := int64(len(data) / 2)
	if err := c.Upload(ctx, bytes.NewReader(data[:half]), dst, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ = c.Stat(ctx, dst)
	if fi.Size != half {
		t.Fatalf("half file has %d bytes", fi.Size)
	}
	if err := c.Upload(ctx, bytes.NewReader(data[fi.Size:]), dst, 0o644, Offset(fi.Size)); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Sha256(ctx, dst); got != want {
		t.Errorf("sha256 after resume: %s, want %s", got, want)
	}
	// Resuming past the end would leave a hole: refused.
	if err := c.Upload(ctx, strings.NewReader("x"), dst, 0o644, Offset(int64(len(data))+10)); err == nil || !strings.Contains(err.Error(), "has only") {
		t.Errorf("offset past the end: %v", err)
	}
	// A resumed file that was longer loses its stale tail.
	if err := c.Upload(ctx, strings.NewReader("XY"), dst, 0o644, Offset(3)); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := c.Download(ctx, dst, &got); err != nil {
		t.Fatal(err)
	}
	if want := string(data[:3]) + "XY"; got.String() != want {
		t.Errorf("after a short resume: %q", got.String())
	}

	// Download of a big file, and the errors for missing files.
	c.Upload(ctx, bytes.NewReader(data), dst, 0o644)
	got.Reset()
	if err := c.Download(ctx, dst, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Errorf("download: %d bytes, %v", got.Len(), err)
	}
	if _, err := c.Stat(ctx, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat of a missing file: %v", err)
	}
	if _, err := c.Sha256(ctx, "/no such/file"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sha256 of a missing file: %v", err)
	}
	if err := c.Download(ctx, "/nope", io.Discard); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("download of a missing file: %v", err)
	}
	if err := c.Upload(ctx, strings.NewReader("x"), "relative/path", 0o644); err == nil {
		t.Error("relative upload path accepted")
	}
	// A failing source is reported as such.
	err = c.Upload(ctx, io.MultiReader(strings.NewReader("abc"), errReaderT{}), "/tmp/src-fails", 0o644)
	if err == nil || !strings.Contains(err.Error(), "reading the source") {
		t.Errorf("failing source: %v", err)
	}
}

type errReaderT struct{}

func (errReaderT) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// liveSleeps counts processes on h running sleep with the given argument
// (zombies, which a killed process may be for a moment, do not count).
func liveSleeps(t *testing.T, h *testhost.Host, arg string) int {
	out, err := h.Exec(context.Background(), `n=0; for d in /proc/[0-9]*; do
  if [ "$(tr '\0' ' ' < $d/cmdline 2>/dev/null)" = "sleep `+arg+` " ] && ! grep -q '^State:.*Z' $d/status 2>/dev/null; then n=$((n+1)); fi
done; echo $n`)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}

func TestCancelKillsRemoteCommand(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	ctx := context.Background()
	if err := h.AddUser(ctx, "deploy", "pw", true, true); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, AcceptNew)
	for _, cfg := range []Config{rootConfig(h), {Host: h.IP, User: "deploy", Password: "pw"}} {
		t.Run(cfg.user(), func(t *testing.T) {
			c := s.dial(t, cfg)
			arg := map[string]string{"root": "4242", "deploy": "4343"}[cfg.user()]
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := c.Run(ctx, "sleep "+arg+"; echo not killed")
				done <- err
			}()
			waitFor(t, func() bool { return liveSleeps(t, h, arg) == 1 }, "the remote sleep")
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "host "+h.IP) {
					t.Errorf("cancelled run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			waitFor(t, func() bool { return liveSleeps(t, h, arg) == 0 }, "the remote sleep to die")
			// The connection is still good.
			run(t, c, "true")
		})
	}
}

func TestConnectionLostAndRedialed(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	s := newSite(t, AcceptNew, WithKeepAlive(200*time.Millisecond, 2))
	c := s.dial(t, rootConfig(w.Hosts[0]))
	run(t, c, "true")
	if err := w.Partition(0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Run(context.Background(), "sleep 30")
	if err == nil || !strings.Contains(err.Error(), "connection lost") || !strings.Contains(err.Error(), "host "+w.Hosts[0].IP) {
		t.Errorf("run on a partitioned host: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("noticed the lost connection after %v", d)
	}
	if err := w.Heal(0); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "hostname"); got != "host-1" {
		t.Errorf("after heal: %q", got)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCloseEndsCleanly closes connections while the host may still be
// sending (keepalive answers every few milliseconds, a session just
// closed): the host's sshd logs each session's end, never a reset, as it
// does for OpenSSH's client.
func TestCloseEndsCleanly(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	s := newSite(t, AcceptNew, WithKeepAlive(time.Millisecond, 1000))
	const n = 30
	for range n {
		c, err := s.d.Dial(context.Background(), rootConfig(h))
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, "true")
		time.Sleep(20 * time.Millisecond)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.WaitConnectionsClosed(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	log, _ := h.SSHDLog()
	if resets, ends := strings.Count(log, "Connection reset"), strings.Count(log, "Transferred: "); resets > 0 || ends != n {
		t.Errorf("%d connections: %d resets, %d logged their end:\n%s", n, resets, ends, log)
	}
}
