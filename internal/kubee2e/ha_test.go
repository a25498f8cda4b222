package kubee2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testreq"
)

// longE2E opts in to the real tests that do not fit in CI's time.
const longE2E = "SEALPACK_KUBERNETES_LONG_E2E"

// Three masters (stacked etcd, joined with --control-plane) and a node,
// with no controlPlaneEndpoint in the Clusterfile: each master serves the
// API and the images itself, and the node balances over the three. Then
// master0 is cut off the network, as a host that died: through another
// master kubectl still works, the node stays Ready and uses the API through
// its balancer, and with the installer gone a pod is pulled again from the
// masters that are left.
func TestRealKubernetesHA(t *testing.T) {
	// Beside the other clusters of this package: they mostly wait on
	// kubeadm and kubelet, and CI's time is bounded.
	t.Parallel()
	// About 11 minutes (3 masters take 6 to install): CI's 20 do not hold
	// it beside make test and the other clusters.
	testreq.OptIn(t, longE2E, "the long real Kubernetes tests", "`make kubernetes-long-e2e` does, as root")
	w, s := newSite(t, 4)
	masters, nodes := w.Hosts[:3], w.Hosts[3:]
	// Pulls from the masters' registries need credentials (htpasswd); the
	// password comes from the environment, as a saved Clusterfile has none.
	writeClusterfileWith(t, s.dir, masters, nodes, "  registry:\n    username: puller\n")
	s.env = append(s.env, "SEALPACK_REGISTRY_PASSWORD="+registryPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s.install(ctx, w.Hosts, "3 masters + 1 node")
	k := kubectl{t: t, h: masters[0]}
	k.waitNodesReady(ctx, 4, 5*time.Minute)
	k.waitPodsRunning(ctx, 5*time.Minute)
	pods := strings.Join(k.run(ctx, "get pods -n kube-system -o name"), " ")
	for _, m := range masters {
		for _, c := range []string{"etcd", "kube-apiserver"} {
			if !strings.Contains(pods, "pod/"+c+"-"+m.Name) {
				t.Errorf("no %s on %s: %s", c, m.Name, pods)
			}
		}
		// As kubeadm advises: the SSH user has the admin kubeconfig.
		if out, err := m.Exec(ctx, "kubectl get nodes -o name"); err != nil || strings.Count(string(out), "node/") != 4 {
			t.Errorf("%s: kubectl with the SSH user's own kubeconfig: %v: %s", m.Name, err, out)
		}
	}
	cm := strings.Join(k.run(ctx, "get cm -n kube-system kubeadm-config -o jsonpath={.data.ClusterConfiguration}"), "\n")
	if !strings.Contains(cm, "controlPlaneEndpoint: sealpack.apiserver:6443") {
		t.Errorf("the cluster's controlPlaneEndpoint is not the balanced name:\n%s", cm)
	}
	node := nodes[0]
	if out, err := node.Exec(ctx, "systemctl is-active sealpack-apiserver-lb && grep -x '127.0.0.1 sealpack.apiserver # written by sealpack' /etc/hosts && grep -c 'server: https://sealpack.apiserver:6443' /etc/kubernetes/kubelet.conf"); err != nil {
		t.Fatalf("%s does not reach the API through its balancer: %v: %s", node.Name, err, out)
	}
	if out, err := node.Exec(ctx, "curl -s -o /dev/null -w '%{http_code}' --cacert /var/lib/sealpack/registry-ca.crt https://"+masters[1].IP+":5000/v2/"); string(out) != "401" {
		t.Errorf("the registry answers a pull without credentials: HTTP %s (%v)", out, err)
	}
	if out, err := node.Exec(ctx, "stat -c %a /etc/containerd/config.toml"); strings.TrimSpace(string(out)) != "600" {
		t.Errorf("containerd's registry credentials: mode %s (%v), want 600", out, err)
	}

	// master0 dies.
	if err := w.Partition(0); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	k = kubectl{t: t, h: masters[1]}
	// Long enough for the node controller to notice master0 (its grace
	// period is 50 s): the others must be Ready then, not only before.
	k.until(ctx, "master0 NotReady and the 3 others Ready, seen through master1", 5*time.Minute, func() (bool, string) {
		out, err := k.try(ctx, `get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'`)
		if err != nil {
			return false, err.Error()
		}
		ok := true
		for _, l := range strings.Fields(out) {
			name, status, _ := strings.Cut(l, "=")
			if want := name != masters[0].Name; (status == "True") != want {
				ok = false
			}
		}
		return ok && strings.Count(out, "=") == 4, out
	})
	t.Logf("master0 seen NotReady %s after it was cut off; every other host Ready", time.Since(lost).Round(time.Second))
	// The node uses the API with its own credentials, through its balancer.
	if out, err := node.Exec(ctx, "kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node "+node.Name+" -o name"); err != nil {
		t.Errorf("%s: the API through its balancer with master0 gone: %v: %s", node.Name, err, out)
	}
	if out, err := node.Exec(ctx, "journalctl -u sealpack-apiserver-lb --no-pager | grep 'taken out'"); err != nil || !strings.Contains(string(out), masters[0].IP) {
		t.Errorf("%s: the balancer never took master0 out: %v: %s", node.Name, err, out)
	}
	k.checkPullAfterInstaller(ctx, nodes)
	checkNoSecret(t, s.dir, registryPassword)

	if err := w.Heal(0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.run(ctx, "reset", "-f", "Clusterfile", "--yes"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, h := range w.Hosts {
		checkClean(t, h)
	}
}
