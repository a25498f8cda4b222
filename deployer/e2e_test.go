package deployer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/payloadtest"
	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/payload"
)

// fakeBinDir holds the fake Kubernetes distribution, built once per test
// binary; TestMain removes it.
var fakeBinDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "sealpack-fakek8s-") })

// fakeBinOnce builds the fake Kubernetes distribution once per test binary.
var fakeBinOnce = sync.OnceValues(func() (string, error) {
	dir, err := fakeBinDir()
	if err != nil {
		return "", err
	}
	return fakek8stest.Build(dir)
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := fakeBinDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// testPayload writes an installer carrying the fake distribution, a kubeadm
// default config, a manifest, an init-host script and two CMD lines.
func testPayload(t testing.TB) *payload.Reader {
	t.Helper()
	return testPayloadWith(t, payloadSpec{})
}

// payloadSpec changes the test payload: more rootfs files (replacing those
// of the same path), other CMD lines (when not nil), the Kubefile's ENV.
type payloadSpec struct {
	files  map[string][]byte
	cmds   []string
	env    []string
	images []payload.Image // what the index says is carried
	labels map[string]string
}

// testPayloadWith is testPayload changed by spec. It is for tests on real
// hosts: where they cannot run it skips (needHosts) before it builds the fake
// distribution, whichever the test called first.
func testPayloadWith(t testing.TB, spec payloadSpec) *payload.Reader {
	t.Helper()
	needHosts(t)
	bin, err := fakeBinOnce()
	if err != nil {
		t.Fatalf("building the fake kubernetes: %v", err)
	}
	fake, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	files := fakek8stest.Rootfs(fake)
	files["manifests/app.yaml"] = []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: docker.io/library/nginx:1.27}]
`)
	files["scripts/init-host.sh"] = []byte(fakek8stest.InitHost + "echo \"init-host on $(hostname) role=$SEALPACK_ROLE master0=$SEALPACK_MASTER0\" > /var/lib/sealpack/init-host.done\n")
	for p, b := range spec.files {
		files[p] = b
	}
	cmds := spec.cmds
	if cmds == nil {
		cmds = []string{"kubectl apply -f manifests/", "kubectl get nodes"}
	}
	labels := map[string]string{payload.LabelTitle: "e2e"}
	for k, v := range spec.labels {
		labels[k] = v
	}
	return payloadtest.Write(t, files, payload.Meta{Platform: "linux/amd64", Labels: labels, Cmds: cmds, Env: spec.env, Images: spec.images})
}

// site is a test world with a Clusterfile directory on the jump host.
type site struct {
	t      *testing.T
	w      *testhost.World
	p      *payload.Reader
	dir    string
	events []event.Event
	mu     sync.Mutex
}

func newSite(t *testing.T, n int) *site {
	w := testhost.New(t, n, testhost.Options{})
	return &site{t: t, w: w, p: testPayload(t), dir: t.TempDir()}
}

func (s *site) cluster(text string) *clusterfile.Cluster {
	s.t.Helper()
	for i, h := range s.w.Hosts {
		text = strings.ReplaceAll(text, fmt.Sprintf("{{%d}}", i), h.IP)
	}
	c, _, err := clusterfile.Parse("Clusterfile", []byte(text))
	if err != nil {
		s.t.Fatalf("Clusterfile: %v\n%s", err, text)
	}
	os.WriteFile(filepath.Join(s.dir, "Clusterfile"), []byte(text), 0o600)
	return c
}

func (s *site) opts() deployer.Options {
	return deployer.Options{
		Payload: s.p, StateDir: filepath.Join(s.dir, ".sealpack"), AcceptNewHostKeys: true,
		ReadyTimeout: 30 * time.Second,
		Sink: func(e event.Event) {
			s.mu.Lock()
			s.events = append(s.events, e)
			s.mu.Unlock()
		},
	}
}

// calls returns what the fake kubeadm/kubectl recorded on host i.
func (s *site) calls(i int) string {
	out, _ := s.w.Hosts[i].Exec(context.Background(), "cat /var/lib/fakek8s/calls.jsonl 2>/dev/null")
	return string(out)
}

// count is how many times command ran with sub as its first argument on
// host i ("kubeadm", "init").
func (s *site) count(i int, command, sub string) int {
	n := 0
	for _, c := range s.allCalls(i) {
		if c.Command == command && len(c.Argv) > 1 && c.Argv[1] == sub {
			n++
		}
	}
	return n
}

const passwordCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: e2e}
spec:
  ssh: {user: root, passwd: sealpack}
  hosts:
  - ips: [{{0}}]
    roles: [master]
  - ips: [{{1}}, {{2}}]
    roles: [node]
    labels: {disk: ssd}
`

// twoHostCluster is a master and a node, by root's password.
const twoHostCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: e2e}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [{{0}}]
    roles: [master]
  - ips: [{{1}}]
    roles: [node]
`

// bastionCluster is a master and a node that only host 0 reaches.
const bastionCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: behind}
spec:
  ssh:
    passwd: sealpack
    bastion: {host: {{0}}, user: root, passwd: sealpack}
  hosts:
  - ips: [{{1}}]
    roles: [master]
  - ips: [{{2}}]
    roles: [node]
`

func TestInstallByPasswordThenRerunIsNoop(t *testing.T) {
	s := newSite(t, 3)
	c := s.cluster(passwordCluster)
	ctx := context.Background()
	if err := deployer.Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("install: %v", err)
	}
	if n := s.count(0, "kubeadm", "init"); n != 1 {
		t.Errorf("kubeadm init ran %d times, want 1", n)
	}
	for i := 1; i < 3; i++ {
		if n := s.count(i, "kubeadm", "join"); n != 1 {
			t.Errorf("host %d: kubeadm join ran %d times, want 1", i, n)
		}
		if out, _ := s.w.Hosts[i].Exec(ctx, "cat /var/lib/sealpack/init-host.done"); !strings.Contains(string(out), "role=node") {
			t.Errorf("host %d: init-host.sh did not run with the env: %q", i, out)
		}
	}
	if s.count(0, "kubectl", "apply") != 1 {
		t.Error("the CMD lines did not run on master0")
	}
	if _, err := os.Stat(filepath.Join(s.dir, ".sealpack", deployer.AdminConfName)); err != nil {
		t.Errorf("kubeconfig not saved: %v", err)
	}
	// Secrets never reach the logs.
	logs, _ := filepath.Glob(filepath.Join(s.dir, ".sealpack", "logs", "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if bytes.Contains(b, []byte("sealpack\n")) || bytes.Contains(b, []byte("passwd")) {
			t.Errorf("%s holds a password", l)
		}
		if bytes.Contains(b, []byte("--token ")) && !bytes.Contains(b, []byte("--token ******")) {
			t.Errorf("%s holds a bootstrap token", l)
		}
	}

	// A second run changes nothing: every step is already done.
	if err := deployer.Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if s.count(0, "kubeadm", "init") != 1 || s.count(1, "kubeadm", "join") != 1 || s.count(2, "kubeadm", "join") != 1 || s.count(0, "kubectl", "apply") != 1 {
		t.Errorf("the re-run did work again:\n%s", s.calls(0))
	}
	// The runs ended their connections cleanly: a host's sshd logged the
	// end of each session, no reset.
	for i, h := range s.w.Hosts {
		waitConnectionsClosed(t, h)
		log, _ := h.SSHDLog()
		if strings.Contains(log, "Connection reset") || strings.Count(log, "Transferred: ") != strings.Count(log, "Accepted password") {
			t.Errorf("host %d: a connection did not end cleanly:\n%s", i, log)
		}
	}
}

func TestPreflightFailureChangesNothing(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	// Host 2 has a different root password than the Clusterfile says.
	if err := s.w.Hosts[2].SetPassword(ctx, "root", "other"); err != nil {
		t.Fatal(err)
	}
	c := s.cluster(passwordCluster)
	err := deployer.Apply(ctx, c, s.opts())
	if err == nil || !strings.Contains(err.Error(), s.w.Hosts[2].IP) {
		t.Fatalf("err = %v, want a preflight failure naming %s", err, s.w.Hosts[2].IP)
	}
	for i, h := range s.w.Hosts {
		if out, _ := h.Exec(ctx, "ls /var/lib/sealpack /usr/local/bin/kubeadm 2>/dev/null"); len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("host %d was changed although preflight failed: %s", i, out)
		}
	}
}

func TestChangedHostKeyRefused(t *testing.T) {
	s := newSite(t, 1)
	ctx := context.Background()
	c := s.cluster("apiVersion: sealer.io/v2\nkind: Cluster\nmetadata: {name: e2e}\nspec:\n  ssh: {passwd: sealpack}\n  hosts:\n  - ips: [{{0}}]\n    roles: [master]\n")
	opts := s.opts()
	opts.DryRun = true
	if err := deployer.Apply(ctx, c, opts); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if err := s.w.Restart(ctx, 0); err != nil {
		t.Fatal(err)
	}
	err := deployer.Apply(ctx, c, opts)
	if err == nil || !strings.Contains(err.Error(), "HOST KEY CHANGED") || strings.Count(err.Error(), "SHA256:") < 2 {
		t.Fatalf("err = %v, want a changed host key with both fingerprints", err)
	}
	// Unattended without --accept-new-host-keys refuses an unknown key.
	opts.AcceptNewHostKeys = false
	opts.StateDir = filepath.Join(t.TempDir(), ".sealpack")
	if err := deployer.Apply(ctx, c, opts); err == nil || !strings.Contains(err.Error(), "--accept-new-host-keys") {
		t.Fatalf("err = %v, want an unknown key refused", err)
	}
}

func TestJoinDeleteReset(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	two := twoHostCluster
	if err := deployer.Apply(ctx, s.cluster(two), s.opts()); err != nil {
		t.Fatalf("install: %v", err)
	}
	three := strings.Replace(two, "[{{1}}]", "[{{1}}, {{2}}]", 1)
	c := s.cluster(three)
	if err := deployer.Join(ctx, c, []string{s.w.Hosts[2].IP}, s.opts()); err != nil {
		t.Fatalf("join: %v", err)
	}
	if s.count(2, "kubeadm", "join") != 1 || s.count(1, "kubeadm", "join") != 1 {
		t.Errorf("join: host 2 joined %d times, host 1 %d times; want 1 and 1", s.count(2, "kubeadm", "join"), s.count(1, "kubeadm", "join"))
	}
	if err := deployer.Delete(ctx, c, []string{s.w.Hosts[1].IP}, s.opts()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if s.count(0, "kubectl", "drain") != 1 || s.count(1, "kubeadm", "reset") != 1 {
		t.Error("delete did not drain on master0 and reset the host")
	}
	if err := deployer.Reset(ctx, c, s.opts()); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for i, h := range s.w.Hosts {
		if out, _ := h.Exec(ctx, "ls /var/lib/sealpack /usr/local/bin/kubeadm /etc/kubernetes/admin.conf 2>/dev/null"); len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("host %d not clean after reset: %s", i, out)
		}
	}
}
