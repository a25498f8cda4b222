// Package kubee2e installs a real Kubernetes, from bases/kubernetes, with an
// application built FROM it, onto test hosts that boot systemd, and checks
// the cluster with the base's own kubectl against the real apiserver.
// `make kubernetes-e2e` builds the base and runs it; a plain `go test`
// skips it, loudly.
package kubee2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/internal/testreq"
)

const kubeVersion = "v1.34.3"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// basePath finds the base installer that `make kubernetes` wrote. The test
// runs under `make kubernetes-e2e` (SEALPACK_KUBERNETES_E2E=1), not in every
// `go test ./...`: it takes minutes and the machine's two cores.
func basePath(t *testing.T, root string) string {
	t.Helper()
	testreq.OptIn(t, "SEALPACK_KUBERNETES_E2E", "real Kubernetes installs", "`make kubernetes-e2e` does, as root; .ci/run runs it")
	p := os.Getenv("SEALPACK_KUBERNETES_BASE")
	if p == "" {
		p = filepath.Join(root, "bin", "kubernetes-"+kubeVersion+"-linux-amd64.run")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no Kubernetes base at %s: make kubernetes-e2e builds it first", p)
	}
	if _, err := os.Stat(sealpackBin(root)); err != nil {
		t.Fatalf("no %s: run make first", sealpackBin(root))
	}
	return p
}

// sealpackBin is the build tool the apps are built with: bin/sealpack, or
// SEALPACK_BIN (.ci/run hands a copy, since make test rebuilds bin/ meanwhile).
func sealpackBin(root string) string {
	if p := os.Getenv("SEALPACK_BIN"); p != "" {
		return p
	}
	return filepath.Join(root, "bin", "sealpack")
}

// site is the jump host's directory: the Clusterfile and .sealpack/ beside it.
type site struct {
	t         *testing.T
	dir       string
	installer string
	password  string
	env       []string // more environment for the installer
	log       io.Writer
	cpu       time.Duration // user + system time of the last run
}

// run runs the installer with args in the site's directory; its output goes
// to the test log as it comes and is returned.
func (s *site) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.installer, args...)
	cmd.Dir = s.dir
	cmd.Env = append(append(os.Environ(), "SEALPACK_SSH_PASSWORD="+s.password), s.env...)
	var out bytes.Buffer
	w := io.MultiWriter(&out, s.log)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	if cmd.ProcessState != nil {
		s.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return out.String(), err
}

// install runs the unattended install and logs its figures.
func (s *site) install(ctx context.Context, hosts []*testhost.Host, what string) {
	s.t.Helper()
	start := time.Now()
	if _, err := s.run(ctx, "--unattended", "-f", "Clusterfile", "--accept-new-host-keys"); err != nil {
		dumpHosts(s.t, hosts)
		s.t.Fatalf("install: %v", err)
	}
	wall := time.Since(start)
	remote := remoteTime(s.t, s.dir)
	s.t.Logf("FIGURE real install of %s: %s wall, %s of it inside remote commands (kubeadm, kubelet, scripts), %s sealpack's own; installer CPU %s",
		what, wall.Round(time.Second), remote.Round(time.Second), (wall - remote).Round(time.Second), s.cpu.Round(10*time.Millisecond))
}

// remoteTime adds up, over the phases the install logged, the time its
// busiest host spent inside remote commands: the part of the wall time that
// is kubeadm's, kubelet's and the scripts'.
func remoteTime(t *testing.T, dir string) time.Duration {
	files, _ := filepath.Glob(filepath.Join(dir, ".sealpack", "logs", "*.log"))
	var total time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			_, rest, ok := strings.Cut(line, "the busiest host ")
			if !ok || !strings.Contains(line, " done in ") {
				continue
			}
			d, _, _ := strings.Cut(rest, ")")
			if v, err := time.ParseDuration(d); err == nil {
				total += v
			}
		}
	}
	return total
}

func writeClusterfile(t *testing.T, dir string, masters, nodes []*testhost.Host) {
	t.Helper()
	writeClusterfileWith(t, dir, masters, nodes, "")
}

// writeClusterfileWith appends spec, indented under spec:, to the Clusterfile.
func writeClusterfileWith(t *testing.T, dir string, masters, nodes []*testhost.Host, spec string) {
	t.Helper()
	ips := func(hs []*testhost.Host) string {
		var out []string
		for _, h := range hs {
			out = append(out, h.IP)
		}
		return strings.Join(out, ", ")
	}
	cf := fmt.Sprintf(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata:
  name: real
spec:
  ssh:
    user: root
  hosts:
    - ips: [%s]
      roles: [master]
    - ips: [%s]
      roles: [node]
%s---
# The test hosts share this machine's disk: its free share is the machine's
# (seen at 16%%), and kubelet's default eviction at 15%% free would taint
# every node with DiskPressure for what other work on the machine wrote.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  nodefs.available: "1%%"
  imagefs.available: "1%%"
  memory.available: "100Mi"
`, ips(masters), ips(nodes), spec)
	if err := os.WriteFile(filepath.Join(dir, "Clusterfile"), []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// logWriter passes lines to t.Log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(line)
	}
	return len(p), nil
}

func TestRealKubernetes(t *testing.T) {
	// Beside the other clusters: each mostly waits on kubeadm and kubelet,
	// and CI's time is bounded.
	t.Parallel()
	// The fourth host joins the running cluster later, and is deleted again.
	w, s := newSite(t, 4)
	master, nodes, extra := w.Hosts[0], w.Hosts[1:3], w.Hosts[3]
	writeClusterfile(t, s.dir, w.Hosts[:1], nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	s.install(ctx, w.Hosts, "1 master + 2 nodes")

	k := kubectl{t: t, h: master}
	k.waitNodesReady(ctx, 3, 5*time.Minute)
	k.waitPodsRunning(ctx, 5*time.Minute)
	k.checkCrossNodeService(ctx)
	t.Run("the masters' registry speaks TLS with the cluster's CA", func(t *testing.T) {
		url := "https://" + master.IP + ":5000/v2/"
		for _, h := range nodes {
			if out, err := h.Exec(ctx, "curl -fsS --cacert /var/lib/sealpack/registry-ca.crt "+url); err != nil {
				t.Errorf("%s: %s with the CA: %v: %s", h.Name, url, err, out)
			}
			if out, err := h.Exec(ctx, "curl -fsS http://"+master.IP+":5000/v2/"); err == nil {
				t.Errorf("%s: the registry answers plain HTTP: %s", h.Name, out)
			}
			if out, err := h.Exec(ctx, "grep -c 'https://"+master.IP+":5000' /etc/containerd/certs.d/docker.io/hosts.toml"); err != nil {
				t.Errorf("%s: hosts.toml does not list the master's registry over HTTPS: %v: %s", h.Name, err, out)
			}
		}
	})
	t.Run("images pullable after the installer exits", func(t *testing.T) {
		kubectl{t: t, h: master}.checkPullAfterInstaller(ctx, nodes)
		checkEveryImagePulls(t, ctx, s, nodes)
	})

	t.Run("rerun is a no-op", func(t *testing.T) {
		out, err := s.run(ctx, "--unattended", "-f", "Clusterfile")
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if want := "[init-master0] " + master.IP + ": already done"; !strings.Contains(out, want) {
			t.Errorf("re-run output lacks %q", want)
		}
		for _, h := range w.Hosts {
			for _, phase := range []string{"host-init", "init-master0", "join-nodes", "apps"} {
				if line := "[" + phase + "] " + h.IP + ": done"; strings.Contains(out, line) {
					t.Errorf("re-run did %s again: %q", phase, line)
				}
			}
		}
		if n := len(k.run(ctx, "get nodes -o name")); n == 0 {
			t.Error("no nodes after the re-run")
		}
	})

	t.Run("join a fresh host, then delete it", func(t *testing.T) {
		if _, err := s.run(ctx, "join", "-f", "Clusterfile", "--nodes", extra.IP, "--accept-new-host-keys"); err != nil {
			dumpHosts(t, []*testhost.Host{master, extra})
			t.Fatalf("join: %v", err)
		}
		k := kubectl{t: t, h: master}
		k.waitNodesReady(ctx, 4, 5*time.Minute)
		k.waitPodsRunning(ctx, 5*time.Minute)
		if _, err := s.run(ctx, "delete", "-f", "Clusterfile", "--nodes", extra.IP, "--yes"); err != nil {
			t.Fatalf("delete: %v", err)
		}
		k.waitNodesReady(ctx, 3, 2*time.Minute)
		checkClean(t, extra)
	})

	t.Run("reset leaves nothing", func(t *testing.T) {
		if _, err := s.run(ctx, "reset", "-f", "Clusterfile", "--yes"); err != nil {
			t.Fatalf("reset: %v", err)
		}
		for _, h := range w.Hosts {
			checkClean(t, h)
		}
	})

	// Nothing on the hosts tried to reach beyond the bridge. What they
	// forwarded is CoreDNS asking the hosts' resolver (outside the world).
	egress, err := w.Egress(ctx)
	if err != nil || egress.Sent != 0 {
		t.Errorf("egress toward the outside: %s attempts, %v; want none sent by the hosts", egress, err)
	}
	t.Logf("egress toward the outside: %d packets (%d sent by the hosts, %d forwarded for pods)", egress.Total(), egress.Sent, egress.Forwarded)
}

// newSite builds the app FROM the base and brings up n systemd hosts.
func newSite(t *testing.T, n int) (*testhost.World, *site) {
	t.Helper()
	root := repoRoot(t)
	base := basePath(t, root)
	// Not a word of any message: logs mask the password wherever it appears.
	const password = "Real-k8s.pw"
	w := testhost.New(t, n, testhost.Options{Systemd: true, RootPassword: password})
	reg := startRegistry(t)
	pushEcho(t, reg)
	app := buildApp(t, root, base, reg)
	return w, &site{t: t, dir: t.TempDir(), installer: app, password: password, log: logWriter{t}}
}

// dumpHosts logs what a failed install left to read on each host.
func dumpHosts(t *testing.T, hosts []*testhost.Host) {
	for _, h := range hosts {
		out, _ := h.Exec(context.Background(), "systemctl --no-pager --failed; journalctl --no-pager -u containerd -u kubelet | tail -40; crictl ps -a 2>&1 | tail")
		t.Logf("%s:\n%s", h.Name, out)
	}
}
