package fakek8stest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
)

// TestInNetworkNamespaces runs the fake as the installer will: on hosts
// that are network namespaces on a bridge, with no default route and no
// knobs, reached through a shell as root. It checks that daemons detach
// from the session, that kubeadm binds and advertises the bridge address,
// and that nodes are found by the address they connect from.
func TestInNetworkNamespaces(t *testing.T) {
	w := testhost.New(t, 2, testhost.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := os.ReadFile(filepath.Join(binDir, "kubeadm"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(h *testhost.Host, cmd string) string {
		t.Helper()
		out, err := h.Exec(ctx, cmd)
		if err != nil {
			t.Fatalf("%s: %v\n%s", h.Name, err, out)
		}
		return string(out)
	}
	for _, h := range w.Hosts {
		if _, err := h.ExecInput(ctx, bin, "cat > /usr/local/bin/kubeadm && chmod 755 /usr/local/bin/kubeadm && "+
			"cp /usr/local/bin/kubeadm /usr/local/bin/kubectl && cp /usr/local/bin/kubeadm /usr/local/bin/kubelet && "+
			"echo 1 > /proc/sys/net/ipv4/ip_forward"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = h.Exec(context.Background(), "kubeadm reset -f") })
	}
	m0, n1 := w.Hosts[0], w.Hosts[1]
	// These hosts have no default route: without an advertise address
	// kubeadm falls back to 0.0.0.0 and refuses it.
	if out, err := m0.Exec(ctx, "kubeadm init --ignore-preflight-errors=CRI"); err == nil ||
		!strings.Contains(err.Error(), `cannot use "0.0.0.0" as the bind address for the API Server`) {
		t.Fatalf("init without an advertise address: %v\n%s", err, out)
	}
	cfg := "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nlocalAPIEndpoint: {advertiseAddress: " + m0.IP + "}\n"
	if _, err := m0.ExecInput(ctx, []byte(cfg), "cat > /root/kubeadm.yaml"); err != nil {
		t.Fatal(err)
	}
	// No containerd on these hosts: the CRI check is ignored, as a user
	// would have to. The apiserver notices a silent kubelet after 3 s; the
	// kubelets post their status every 200 ms (the master's too: at its
	// default of 2 s, a busy machine let its node turn Unknown).
	init := run(m0, "FAKEK8S_HEARTBEAT=200ms FAKEK8S_NODE_MONITOR_GRACE=3s kubeadm init --config /root/kubeadm.yaml --upload-certs --ignore-preflight-errors=CRI")
	if m := joinWorkerRE.FindStringSubmatch(init); m == nil || m[1] != m0.IP+":6443" {
		t.Fatalf("init:\n%s", init)
	}
	join := strings.TrimSpace(run(m0, "kubeadm token create --print-join-command")) + " --ignore-preflight-errors=CRI"
	run(n1, "FAKEK8S_HEARTBEAT=200ms "+join)
	nodes := func() map[string]node {
		out := run(m0, "KUBECONFIG=/etc/kubernetes/admin.conf kubectl get nodes -o json")
		var l struct{ Items []node }
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		byIP := map[string]node{}
		for _, n := range l.Items {
			byIP[n.address("InternalIP")] = n
		}
		return byIP
	}
	got := nodes()
	for _, h := range w.Hosts {
		if n, ok := got[h.IP]; !ok || n.ready() != "True" || n.Metadata.Name != h.Name {
			t.Errorf("no Ready node %s with InternalIP %s: %+v", h.Name, h.IP, got)
		}
	}
	// Cut off, the node's kubelet stops reaching the apiserver and the node
	// turns NotReady; healed, it is Ready again.
	if err := w.Partition(1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "partitioned node NotReady", func() bool { return nodes()[n1.IP].ready() == "Unknown" })
	if err := w.Heal(1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "healed node Ready", func() bool { return nodes()[n1.IP].ready() == "True" })

	// A partitioned host cannot join: discovery needs a TCP connection.
	run(n1, "kubeadm reset -f")
	run(m0, "KUBECONFIG=/etc/kubernetes/admin.conf kubectl delete node "+n1.Name)
	if err := w.Partition(1); err != nil {
		t.Fatal(err)
	}
	out, err := n1.Exec(ctx, "FAKEK8S_DISCOVERY_TIMEOUT=2s "+join)
	if err == nil || !strings.Contains(err.Error(), "couldn't validate the identity of the API Server") {
		t.Fatalf("join while partitioned: %v\n%s", err, out)
	}
	if err := w.Heal(1); err != nil {
		t.Fatal(err)
	}
	run(n1, join)
	if n := nodes()[n1.IP]; n.ready() != "True" {
		t.Fatalf("rejoined node: %+v", n)
	}
}
