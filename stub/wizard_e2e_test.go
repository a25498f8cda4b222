package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/payload"
)

// The hosts' root password: distinct from every word the screens show, so
// that finding it on a screen or in a file means it leaked.
const rootPassword = "Tr0ub4dor-e2e"

// secretKey finds a secret written as a field of a Clusterfile.
var secretKey = regexp.MustCompile(`(?mi)^\s*(passwd|sudoPasswd|pkPasswd|password)\s*:`)

const (
	licenceText = "ACME TEST LICENCE\n\nYou may install this product on machines you own.\n"
	productName = "acme-platform"
	productVer  = "3.1.4"
)

var fakeK8sOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sealpack-fakek8s-")
	if err != nil {
		return "", err
	}
	return fakek8stest.Build(dir)
})

// clusterInstaller writes app-installer.run into dir, carrying the fake
// Kubernetes distribution (as deployer/e2e_test.go's installer does), a
// licence and the product labels.
func clusterInstaller(t *testing.T, dir string) string {
	t.Helper()
	return clusterInstallerWith(t, dir, nil)
}

// clusterInstallerWith is clusterInstaller with images: images lays them
// into the rootfs and returns their index entries.
func clusterInstallerWith(t *testing.T, dir string, images func(files map[string]entry) []payload.Image) string {
	t.Helper()
	bin, err := fakeK8sOnce()
	if err != nil {
		t.Fatalf("building the fake kubernetes: %v", err)
	}
	fake, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	files := entries(fakek8stest.Rootfs(fake))
	files["manifests/app.yaml"] = bytesEntry(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: docker.io/library/nginx:1.27}]
`)
	files["LICENSE"] = bytesEntry(licenceText)
	var carried []payload.Image
	if images != nil {
		carried = images(files)
	}
	return writeInstaller(t, filepath.Join(dir, "app-installer.run"), installerSpec{
		images: carried,
		files:  files,
		labels: map[string]string{payload.LabelTitle: productName, payload.LabelVersion: productVer},
		cmds:   []string{"kubectl apply -f manifests/", "kubectl get nodes"},
	})
}

// wizardSite is a jump host directory holding the installer, three target
// hosts, and the terminal the installer runs in.
type wizardSite struct {
	t    *testing.T
	w    *testhost.World
	dir  string // cwd of the installer: .sealpack/ and Clusterfiles land here
	home string
	term *terminal
}

func newWizardSite(t *testing.T) *wizardSite {
	needTmux(t)
	w := testhost.New(t, 3, testhost.Options{RootPassword: rootPassword})
	s := &wizardSite{t: t, w: w, dir: t.TempDir(), home: t.TempDir()}
	clusterInstaller(t, s.dir)
	return s
}

// start runs ./app-installer.run with args in the site's terminal, with a
// home of its own (no known_hosts of the machine's).
func (s *wizardSite) start(args ...string) *terminal {
	cmd := "env HOME=" + shQuote(s.home) + " ./app-installer.run"
	for _, a := range args {
		cmd += " " + shQuote(a)
	}
	s.term = startTerminal(s.t, s.dir, cmd)
	return s.term
}

func (s *wizardSite) ip(i int) string { return s.w.Hosts[i].IP }

// noSecret fails when the root password shows on the screen.
func (s *wizardSite) noSecret(screen string) {
	s.t.Helper()
	if strings.Contains(screen, rootPassword) {
		s.t.Fatalf("the password shows on the screen:\n%s", screen)
	}
}

// welcome goes through the welcome screen (waiting for the integrity check)
// and the licence, to the hosts screen.
func (s *wizardSite) welcome() {
	m := s.term
	scr := m.waitFor(20*time.Second, "Welcome", productName+" "+productVer, "Integrity", "every byte matches the index")
	if !strings.Contains(scr, "linux/amd64") {
		s.t.Errorf("the welcome screen does not show the platform:\n%s", scr)
	}
	m.keys("Enter")
	m.waitFor(5*time.Second, "Licence", "ACME TEST LICENCE", "a accept")
	m.keys("a")
	m.waitFor(5*time.Second, "Machines", "Add the machines by IP address")
}

// sshLogin fills the SSH screen for root with password, from its first
// field, and goes on to preflight.
func (s *wizardSite) sshLogin(password string) {
	m := s.term
	m.waitFor(5*time.Second, "How this computer logs in", "User", "root")
	m.keys("Enter") // user root, as given
	m.keys("Enter") // log in with a password, the default
	m.keys("C-u")   // a password from a Clusterfile is replaced
	m.typeText(password)
	s.noSecret(m.waitFor(5*time.Second, "Password", "Port"))
	m.keys("Enter", "Enter") // port 22
	m.keys("Enter")          // no bastion: the last field submits
}

// acceptKeys waits for preflight to refuse the three unknown host keys,
// accepts them one by one, each after its host's fingerprint showed, and
// returns the screen once the re-check has ended with every key accepted
// and the header showing want.
func (s *wizardSite) acceptKeys(want string) string {
	m := s.term
	scr := m.waitFor(60*time.Second, "3 hosts: 0 passed, 3 failed", "New ED25519 host key: SHA256:", "a accept key")
	if !strings.Contains(scr, "unknown ED25519 host key SHA256:") || strings.Contains(scr, "--accept-new-host-keys") {
		s.t.Errorf("preflight does not say plainly that the key is unknown:\n%s", scr)
	}
	if !strings.Contains(scr, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub") {
		s.t.Errorf("preflight does not name the file of the key type offered:\n%s", scr)
	}
	for i := range 3 {
		fp := gossh.FingerprintSHA256(s.w.Hosts[i].HostKey)
		m.waitFor(10*time.Second, "── "+s.ip(i)+" (", "New ED25519 host key: "+fp, "a accept key")
		m.keys("a")
	}
	return m.waitUntil(60*time.Second, "a re-check with the keys accepted showing "+want, func(scr string) bool {
		return strings.Contains(scr, want) && !strings.Contains(scr, "New ED25519 host key") && !strings.Contains(scr, "checking")
	}, false)
}

// install goes from the review screen through the install to the done
// screen and returns it.
func (s *wizardSite) install() string {
	m := s.term
	m.keys("Enter")
	m.waitUntil(10*time.Second, "the install screen", func(scr string) bool {
		return strings.Contains(scr, "elapsed") || strings.Contains(scr, "installed in")
	}, false)
	scr := m.waitFor(5*time.Minute, "Done", "installed")
	s.noSecret(scr)
	return scr
}

// checkInstalled checks the hosts and the files the install left.
func (s *wizardSite) checkInstalled(saved string) {
	t := s.t
	if _, err := os.Stat(filepath.Join(s.dir, ".sealpack", deployer.AdminConfName)); err != nil {
		t.Errorf("kubeconfig not saved: %v", err)
	}
	if n := s.count(0, "kubeadm", "init"); n != 1 {
		t.Errorf("kubeadm init ran %d times on master0, want 1", n)
	}
	for i := 1; i < 3; i++ {
		if n := s.count(i, "kubeadm", "join"); n != 1 {
			t.Errorf("kubeadm join ran %d times on node %d, want 1", n, i)
		}
	}
	data, err := os.ReadFile(saved)
	if err != nil {
		t.Fatalf("the wizard's Clusterfile: %v", err)
	}
	if bytes.Contains(data, []byte(rootPassword)) || secretKey.Match(data) {
		t.Errorf("the saved Clusterfile holds a password:\n%s", data)
	}
	c, _, err := clusterfile.Parse(filepath.Base(saved), data)
	if err != nil {
		t.Fatalf("the saved Clusterfile does not parse: %v\n%s", err, data)
	}
	var ips []string
	for _, h := range c.Hosts() {
		ips = append(ips, fmt.Sprintf("%s:%v", h.IP, h.IsMaster()))
	}
	want := []string{s.ip(0) + ":true", s.ip(1) + ":false", s.ip(2) + ":false"}
	if strings.Join(ips, " ") != strings.Join(want, " ") {
		t.Errorf("saved hosts = %v, want %v", ips, want)
	}
	kh, err := os.ReadFile(filepath.Join(s.dir, ".sealpack", "known_hosts"))
	if err != nil {
		t.Fatalf("accepted host keys not recorded: %v", err)
	}
	for i := range 3 {
		if !bytes.Contains(kh, []byte(s.ip(i)+" ")) {
			t.Errorf("known_hosts has no key of %s:\n%s", s.ip(i), kh)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(s.dir, ".sealpack", "logs", "*"))
	if len(logs) == 0 {
		t.Error("no logs under .sealpack/logs")
	}
	for _, l := range logs {
		if b, _ := os.ReadFile(l); bytes.Contains(b, []byte(rootPassword)) {
			t.Errorf("%s holds the password", l)
		}
	}
}

// count is how many times command ran with sub as its first argument on
// host i ("kubeadm", "init").
func (s *wizardSite) count(i int, command, sub string) int {
	out, _ := s.w.Hosts[i].Exec(context.Background(), "cat "+fakek8stest.CallsFile+" 2>/dev/null")
	calls, err := fakek8stest.ParseCalls(bytes.NewReader(out))
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, c := range calls {
		if c.Command == command && len(c.Argv) > 1 && c.Argv[1] == sub {
			n++
		}
	}
	return n
}

// TestWizardInstall drives every screen in a real terminal, from the
// welcome screen to a running cluster on three hosts.
func TestWizardInstall(t *testing.T) {
	s := newWizardSite(t)
	m := s.start()
	s.welcome()

	// One master, then two nodes: after the first master the input adds nodes.
	m.waitFor(5*time.Second, "Add master")
	m.typeText(s.ip(0))
	m.keys("Enter")
	m.waitFor(5*time.Second, "master0  "+s.ip(0), "Add node")
	// Duplicates and bad addresses are refused in place.
	m.typeText(s.ip(0))
	m.keys("Enter")
	m.waitFor(5*time.Second, s.ip(0)+" is already in the list")
	m.keys("C-u")
	m.typeText("10.0.0.300")
	m.keys("Enter")
	if scr := m.waitFor(5*time.Second, `✗ "10.0.0.300" is not an IP address`); !strings.Contains(scr, "1 master, 0 nodes") {
		t.Errorf("a bad address was added:\n%s", scr)
	}
	m.keys("C-u")
	m.typeText(s.ip(1))
	m.keys("Enter")
	m.typeText(s.ip(2))
	m.keys("Enter")
	m.waitFor(5*time.Second, "node     "+s.ip(1), "node     "+s.ip(2), "1 master, 2 nodes")
	m.keys("Enter") // an empty line goes on

	s.sshLogin(rootPassword)
	scr := s.acceptKeys("3 hosts: 3 passed")
	if !strings.Contains(scr, "all hosts passed") {
		t.Errorf("preflight passed but does not say so:\n%s", scr)
	}
	s.noSecret(scr)
	m.keys("Enter")

	scr = m.waitFor(5*time.Second, "Review", "saved to Clusterfile", "spec.ssh.passwd: "+clusterfile.Mask)
	s.noSecret(scr)
	if strings.Contains(scr, "replacing") {
		t.Errorf("the review says it replaces a file, but there is none:\n%s", scr)
	}

	scr = s.install()
	for _, want := range []string{"runs on 3 hosts (1 master, 2 nodes)", filepath.Join(s.dir, ".sealpack", deployer.AdminConfName), "join -f Clusterfile"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the done screen lacks %q:\n%s", want, scr)
		}
	}
	m.keys("Enter")
	code, scr := m.exitStatus(10 * time.Second)
	if code != 0 {
		t.Errorf("the installer exited with status %d:\n%s", code, scr)
	}
	if !strings.Contains(scr, "runs on 3 hosts") {
		t.Errorf("no summary left in the terminal:\n%s", scr)
	}
	s.checkInstalled(filepath.Join(s.dir, "Clusterfile"))
}

// userClusterfile is a Clusterfile written by hand, with a comment and a
// wrong password; the wizard starts from it and must not change it.
const userClusterfile = `# Written by the site's admin: keep this comment.
apiVersion: sealer.cloud/v2
kind: Cluster
metadata:
  name: site-a
spec:
  ssh:
    user: root
    passwd: wrong-password
  hosts:
  - ips: [{{0}}]
    roles: [master]
  - ips: [{{1}}, {{2}}]
    roles: [node]
    labels: {disk: ssd}
`

// TestWizardWrongPasswordRecovery starts from the user's Clusterfile, whose
// password is wrong, and where one host has yet another password: preflight
// fails, the user fixes the login and the host, re-checks and installs.
func TestWizardWrongPasswordRecovery(t *testing.T) {
	s := newWizardSite(t)
	ctx := context.Background()
	if err := s.w.Hosts[2].SetPassword(ctx, "root", "another-one"); err != nil {
		t.Fatal(err)
	}
	text := userClusterfile
	for i := range 3 {
		text = strings.ReplaceAll(text, fmt.Sprintf("{{%d}}", i), s.ip(i))
	}
	userFile := filepath.Join(s.dir, "Clusterfile")
	if err := os.WriteFile(userFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	m := s.start("-f", "Clusterfile")
	s.welcome()
	m.waitFor(5*time.Second, "master0  "+s.ip(0), "node     "+s.ip(2), "1 master, 2 nodes")
	m.keys("Enter")
	// The password field holds the file's password, masked; Enter keeps it.
	m.waitFor(5*time.Second, "How this computer logs in", "Password")
	s.noSecret(m.screen())
	if strings.Contains(m.screen(), "wrong-password") {
		t.Errorf("the password from the Clusterfile shows:\n%s", m.screen())
	}
	m.keys("Enter", "Enter", "Enter", "Enter", "Enter")

	// Keys first (they come before the login), then every login fails.
	scr := s.acceptKeys("3 hosts: 0 passed, 3 failed")
	if !strings.Contains(strings.ToLower(scr), "auth") {
		t.Errorf("preflight does not say the login failed:\n%s", scr)
	}
	// Under auth, not under net: the hosts answered (seen: the failure
	// under the net column).
	if !regexp.MustCompile(`host +(net +)?auth\b`).MatchString(scr) || !regexp.MustCompile(regexp.QuoteMeta(s.ip(0))+` +(✓ +)?✗`).MatchString(scr) {
		t.Errorf("the refused login is not under auth:\n%s", scr)
	}
	// Back to the SSH screen to fix the password. Focus is on the last
	// field; the password is two up.
	m.keys("s")
	m.waitFor(5*time.Second, "How this computer logs in")
	m.keys("Up", "Up", "C-u")
	m.typeText(rootPassword)
	m.keys("Enter", "Enter", "Enter")

	// Host 2 still refuses: its password differs. It is fixed there, then
	// re-checked from the preflight screen.
	scr = m.waitFor(60*time.Second, "3 hosts: 2 passed, 1 failed")
	s.noSecret(scr)
	m.keys("Down", "Down")
	scr = m.waitFor(5*time.Second, s.ip(2)+" (node)")
	if !strings.Contains(strings.ToLower(scr), "auth") {
		t.Errorf("the failed host's details do not say the login failed:\n%s", scr)
	}
	if err := s.w.Hosts[2].SetPassword(ctx, "root", rootPassword); err != nil {
		t.Fatal(err)
	}
	m.keys("r")
	m.waitFor(60*time.Second, "all hosts passed", "3 hosts: 3 passed")
	m.keys("Enter")

	// The user's file stays as written: the wizard saves its own beside it.
	scr = m.waitFor(5*time.Second, "Review", "Clusterfile.sealpack.yaml", "labels:")
	if !strings.Contains(scr, "Clusterfile stays as") {
		t.Errorf("the review does not say the user's Clusterfile is kept:\n%s", scr)
	}
	scr = s.install()
	if !strings.Contains(scr, "Clusterfile.sealpack.yaml") {
		t.Errorf("the done screen does not name the saved Clusterfile:\n%s", scr)
	}
	m.keys("Enter")
	if code, scr := m.exitStatus(10 * time.Second); code != 0 {
		t.Errorf("the installer exited with status %d:\n%s", code, scr)
	}
	if got, _ := os.ReadFile(userFile); string(got) != text {
		t.Errorf("the user's Clusterfile was changed:\n%s", got)
	}
	saved := filepath.Join(s.dir, "Clusterfile.sealpack.yaml")
	s.checkInstalled(saved)
	if data, _ := os.ReadFile(saved); !bytes.Contains(data, []byte("disk: ssd")) || !bytes.Contains(data, []byte("site-a")) {
		t.Errorf("the saved Clusterfile lost what the user's said:\n%s", data)
	}
}
