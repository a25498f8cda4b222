package kubee2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Two masters (the second joined with --control-plane: stacked etcd) and two
// nodes. Each master serves the images: with master0's registry stopped and
// the installer gone, a node still pulls, from the other master's.
func TestRealKubernetesTwoMasters(t *testing.T) {
	// Beside the other clusters of this package: they mostly wait on
	// kubeadm and kubelet, and CI's time is bounded.
	t.Parallel()
	w, s := newSite(t, 4)
	masters, nodes := w.Hosts[:2], w.Hosts[2:]
	// Pulls from the masters' registries need credentials (htpasswd); the
	// password comes from the environment, as a saved Clusterfile has none.
	writeClusterfileWith(t, s.dir, masters, nodes, "  registry:\n    username: puller\n")
	s.env = append(s.env, "SEALPACK_REGISTRY_PASSWORD="+registryPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s.install(ctx, w.Hosts, "2 masters + 2 nodes")
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
	}
	for _, m := range masters {
		// As kubeadm advises: the SSH user has the admin kubeconfig.
		if out, err := m.Exec(ctx, "kubectl get nodes -o name"); err != nil || strings.Count(string(out), "node/") != 4 {
			t.Errorf("%s: kubectl with the SSH user's own kubeconfig: %v: %s", m.Name, err, out)
		}
	}
	if out, err := masters[0].Exec(ctx, "systemctl stop sealpack-registry && ! systemctl is-active --quiet sealpack-registry"); err != nil {
		t.Fatalf("stopping master0's registry: %v: %s", err, out)
	}
	if out, err := nodes[0].Exec(ctx, "curl -s -o /dev/null -w '%{http_code}' --cacert /var/lib/sealpack/registry-ca.crt https://"+masters[1].IP+":5000/v2/"); string(out) != "401" {
		t.Errorf("the registry answers a pull without credentials: HTTP %s (%v)", out, err)
	}
	if out, err := nodes[0].Exec(ctx, "stat -c %a /etc/containerd/config.toml"); strings.TrimSpace(string(out)) != "600" {
		t.Errorf("containerd's registry credentials: mode %s (%v), want 600", out, err)
	}
	k.checkPullAfterInstaller(ctx, nodes)
	checkNoSecret(t, s.dir, registryPassword)
	if _, err := s.run(ctx, "reset", "-f", "Clusterfile", "--yes"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, h := range w.Hosts {
		checkClean(t, h)
	}
}
