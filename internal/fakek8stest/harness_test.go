package fakek8stest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// binDir holds kubeadm, kubectl and kubelet, built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakek8stest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err := Build(dir)
	if err == nil {
		err = Install(bin, filepath.Join(dir, "bin"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = filepath.Join(dir, "bin")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeHost is one fake host without namespaces: its own state root, its
// own loopback address, a listening containerd socket, ip_forward on.
type fakeHost struct {
	t       *testing.T
	name    string
	ip      string
	root    string
	apiPort int
	env     []string
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The daemons listen on the real ports. Each test has its own loopback
// addresses, so these cannot clash; ports taken from freePort could: the
// kernel may hand the same one out twice, or to an outgoing connection
// from the host's address before the daemon binds it.
const (
	apiServerPort = 6443
	kubeletPort   = 10250
)

func newHost(t *testing.T, name, ip string, extraEnv ...string) *fakeHost {
	t.Helper()
	root := t.TempDir()
	h := &fakeHost{t: t, name: name, ip: ip, root: root, apiPort: apiServerPort}
	h.write("/proc/sys/net/ipv4/ip_forward", "1\n")
	sock := h.path("/var/run/containerd/containerd.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "FAKEK8S_") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		h.env = append(h.env, kv)
	}
	h.env = append(h.env,
		"PATH="+binDir+":/usr/bin:/bin",
		"HOME="+h.path("/root"),
		"FAKEK8S_ROOT="+root,
		"FAKEK8S_HOST_IP="+ip,
		"FAKEK8S_HOSTNAME="+name,
		"FAKEK8S_APISERVER_PORT="+strconv.Itoa(h.apiPort),
		"FAKEK8S_KUBELET_PORT="+strconv.Itoa(kubeletPort),
		"FAKEK8S_WAIT_TIMEOUT=20s",
		"FAKEK8S_DISCOVERY_TIMEOUT=5s",
	)
	h.env = append(h.env, extraEnv...)
	t.Cleanup(func() {
		// Leave no daemon behind, whatever the test did.
		if r := h.run("kubeadm", "reset", "-f"); r.code != 0 {
			t.Errorf("%s: cleanup reset: %s", name, r.stderr)
		}
		ln.Close()
		for _, pidFile := range []string{"/var/lib/fakek8s/kube-apiserver.pid", "/var/lib/fakek8s/kubelet.pid"} {
			if _, err := os.Stat(h.path(pidFile)); err == nil {
				t.Errorf("%s: %s still exists after reset", name, pidFile)
			}
		}
	})
	return h
}

func (h *fakeHost) path(p string) string { return filepath.Join(h.root, p) }

func (h *fakeHost) write(p, content string) string {
	h.t.Helper()
	full := h.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return full
}

func (h *fakeHost) exists(p string) bool {
	_, err := os.Stat(h.path(p))
	return err == nil
}

// endpoint is host:port of this host's apiserver.
func (h *fakeHost) endpoint() string { return net.JoinHostPort(h.ip, strconv.Itoa(h.apiPort)) }

func (h *fakeHost) admin() string { return "KUBECONFIG=" + h.path("/etc/kubernetes/admin.conf") }

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs a command of the fake on this host; "KEY=VALUE" arguments
// before the command set its environment.
func (h *fakeHost) run(args ...string) result {
	return h.runStdin("", args...)
}

func (h *fakeHost) runStdin(stdin string, args ...string) result {
	h.t.Helper()
	env := append([]string(nil), h.env...)
	for len(args) > 0 && strings.Contains(args[0], "=") {
		env = append(env, args[0])
		args = args[1:]
	}
	cmd := exec.Command(filepath.Join(binDir, args[0]), args[1:]...)
	cmd.Env = env
	cmd.Dir = h.root
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		h.t.Fatalf("%s: %v: %v", h.name, args, err)
	}
	return r
}

func (h *fakeHost) mustRun(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("%s: %v: %s", h.name, args, r)
	}
	return r
}

// initConfig is a kubeadm config for this host; extra documents follow.
func (h *fakeHost) initConfig(clusterExtra string, extraDocs ...string) string {
	doc := fmt.Sprintf(`apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
localAPIEndpoint:
  advertiseAddress: %s
nodeRegistration:
  name: %s
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.30.4
networking:
  podSubnet: 100.64.0.0/10
%s`, h.ip, h.name, clusterExtra)
	for _, d := range extraDocs {
		doc += "---\n" + d
	}
	return h.write("/root/kubeadm.yaml", doc)
}

// node is the part of a v1 Node the tests read.
type node struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR       string `json:"podCIDR"`
		Unschedulable bool   `json:"unschedulable"`
		Taints        []struct {
			Key, Value, Effect string
		} `json:"taints"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		NodeInfo struct {
			KubeletVersion string `json:"kubeletVersion"`
		} `json:"nodeInfo"`
	} `json:"status"`
}

func (n node) ready() string {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status
		}
	}
	return ""
}

func (n node) address(typ string) string {
	for _, a := range n.Status.Addresses {
		if a.Type == typ {
			return a.Address
		}
	}
	return ""
}

// nodes is `kubectl get nodes -o json` on h, by name.
func (h *fakeHost) nodes(kubeconfig string) (string, map[string]node) {
	h.t.Helper()
	r := h.mustRun(kubeconfig, "kubectl", "get", "nodes", "-o", "json")
	var l struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Items      []node `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		h.t.Fatalf("kubectl get nodes -o json: %v\n%s", err, r.stdout)
	}
	out := map[string]node{}
	for _, n := range l.Items {
		out[n.Metadata.Name] = n
	}
	return l.APIVersion + "/" + l.Kind, out
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// portOpen reports whether something accepts connections at addr.
func portOpen(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
