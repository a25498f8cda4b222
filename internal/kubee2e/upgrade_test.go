package kubee2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/internal/testreq"
)

// nextKubeVersion is the minor the upgrade goes to: the base built from
// bases/kubernetes/versions-v1.35.env.
const nextKubeVersion = "v1.35.4"

// The site's own registry (spec.registry.externalRegistry), then an
// upgrade through it. The registry is a distribution registry with htpasswd
// and TLS on the jump host: the installer pushes the images there, no
// registry runs in the cluster, and kubelet pulls through containerd's CRI
// with the credentials, also after the installer exited. Then the app's
// next version, FROM the base of the next Kubernetes minor: its images go
// to the site's registry, and kubeadm's upgrade path, host by host, ends
// with every node Ready at the new kubelet, the control plane's and the
// addons' images at the new versions, and the app running. The same
// installer again changes nothing; the older one is refused, and with
// --allow-downgrade its Kubernetes is still refused (kubeadm cannot
// downgrade).
func TestRealKubernetesUpgrade(t *testing.T) {
	// Beside the other clusters of this package: they mostly wait on
	// kubeadm and kubelet, and CI's time is bounded.
	t.Parallel()
	// About 12 minutes: CI's 20 do not hold it beside make test and the
	// other clusters; `make kubernetes-long-e2e` runs it.
	testreq.OptIn(t, longE2E, "the long real Kubernetes tests", "`make kubernetes-long-e2e` does, as root")
	root := repoRoot(t)
	w, s := newSite(t, 2)
	next := os.Getenv("SEALPACK_KUBERNETES_NEXT_BASE")
	if next == "" {
		next = filepath.Join(root, "bin", "kubernetes-"+nextKubeVersion+"-linux-amd64.run")
	}
	if _, err := os.Stat(next); err != nil {
		t.Fatalf("no base of the next Kubernetes minor at %s: make kubernetes-e2e builds it first", next)
	}
	reg := startRegistry(t)
	pushEcho(t, reg)
	v1 := s.installer
	v2 := buildAppVersion(t, root, next, reg, "1.1.0")
	master, node := w.Hosts[0], w.Hosts[1]
	addr, caFile := startSiteRegistry(t, w.JumpIP, s.dir)
	host, port, _ := net.SplitHostPort(addr)
	writeClusterfileWith(t, s.dir, w.Hosts[:1], w.Hosts[1:], fmt.Sprintf(`  registry:
    externalRegistry:
      domain: %s
      port: "%s"
      username: puller
      ca: %s
`, host, port, caFile))
	s.env = append(s.env, "SEALPACK_REGISTRY_PASSWORD="+registryPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s.install(ctx, w.Hosts, "1 master + 1 node, "+kubeVersion+", images in the site's registry")
	k := kubectl{t: t, h: master}
	k.waitNodesReady(ctx, 2, 5*time.Minute)
	k.waitPodsRunning(ctx, 5*time.Minute)
	for _, repo := range []string{"pause", "coredns/coredns", "kube-apiserver", "sealpack/echo"} {
		if tags := siteTags(t, addr, caFile, repo); len(tags) == 0 {
			t.Errorf("the site's registry has no tags of %s", repo)
		}
	}
	if out, err := master.Exec(ctx, "systemctl is-active sealpack-registry; ls /usr/local/bin/sealpack-registry"); err == nil {
		t.Errorf("a registry runs in the cluster although the site has its own: %s", out)
	}
	if out, _ := node.Exec(ctx, "cat /etc/containerd/certs.d/registry.k8s.io/hosts.toml"); !strings.Contains(string(out), `[host."https://`+addr+`"]`) {
		t.Errorf("the node's mirrors do not name the site's registry:\n%s", out)
	}
	k.checkPullAfterInstaller(ctx, w.Hosts[1:])

	s.installer = v2
	start := time.Now()
	out, err := s.run(ctx, "--unattended", "-f", "Clusterfile")
	if err != nil {
		dumpHosts(t, w.Hosts)
		t.Fatalf("upgrade: %v", err)
	}
	t.Logf("FIGURE upgrade of 1 master + 1 node from %s to %s, and of the app: %s wall", kubeVersion, nextKubeVersion, time.Since(start).Round(time.Second))
	for _, want := range []string{"upgrade from echo 1.0.0 to echo 1.1.0", kubeVersion + ", upgraded to " + nextKubeVersion,
		"[upgrade-kubernetes] " + master.IP + ": done", "[upgrade-kubernetes] " + node.IP + ": done"} {
		if !strings.Contains(out, want) {
			t.Errorf("the upgrade's output lacks %q", want)
		}
	}
	cc := strings.Join(k.run(ctx, "get configmap -n kube-system kubeadm-config -o jsonpath={.data.ClusterConfiguration}"), "\n")
	if !strings.Contains(cc, "kubernetesVersion: "+nextKubeVersion) {
		t.Errorf("kubeadm-config after the upgrade:\n%s", cc)
	}
	k.until(ctx, "both nodes Ready at kubelet "+nextKubeVersion, 5*time.Minute, func() (bool, string) {
		out, err := k.try(ctx, `get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status} {.spec.unschedulable}|{"\n"}{end}'`)
		if err != nil {
			return false, err.Error()
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		ok := len(lines) == 2
		for _, l := range lines {
			// Ready, and uncordoned (unschedulable is empty).
			ok = ok && strings.HasSuffix(l, " "+nextKubeVersion+" True |")
		}
		return ok, out
	})
	k.waitPodsRunning(ctx, 5*time.Minute)
	if tags := siteTags(t, addr, caFile, "kube-apiserver"); !slices.Contains(tags, nextKubeVersion) {
		t.Errorf("the upgrade did not push kube-apiserver:%s to the site's registry: %v", nextKubeVersion, tags)
	}
	images := strings.Join(k.run(ctx, `get pods -n kube-system -o jsonpath='{range .items[*]}{.spec.containers[*].image}{"\n"}{end}'`), "\n")
	for _, want := range []string{"kube-apiserver:" + nextKubeVersion, "kube-proxy:" + nextKubeVersion, "etcd:3.6.6-0", "coredns:v1.13.1"} {
		if !strings.Contains(images, want) {
			t.Errorf("no %s running after the upgrade:\n%s", want, images)
		}
	}

	out, err = s.run(ctx, "--unattended", "-f", "Clusterfile")
	if err != nil {
		t.Fatalf("the upgraded installer again: %v", err)
	}
	if strings.Contains(out, "[upgrade-kubernetes] "+master.IP+": done") || !strings.Contains(out, nextKubeVersion+", as carried") {
		t.Errorf("the same installer twice upgraded again:\n%s", grep(out, "upgrade-kubernetes", "kubernetes"))
	}

	s.installer = v1
	if out, err := s.run(ctx, "--unattended", "-f", "Clusterfile"); err == nil || !strings.Contains(out, "--allow-downgrade") {
		t.Errorf("the older installer over the upgrade: %v, want a refusal naming --allow-downgrade", err)
	}
	out, err = s.run(ctx, "--unattended", "-f", "Clusterfile", "--allow-downgrade")
	if err == nil || !strings.Contains(out, "kubeadm cannot downgrade a cluster") {
		t.Errorf("Kubernetes %s over %s with --allow-downgrade: %v, want kubeadm's refusal", kubeVersion, nextKubeVersion, err)
	}
	if strings.Contains(out, "[distribute] start") {
		t.Error("the refused downgrade of Kubernetes began to distribute")
	}

	checkNoSecret(t, s.dir, registryPassword)
	s.installer = v2
	if _, err := s.run(ctx, "reset", "-f", "Clusterfile", "--yes"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, h := range []*testhost.Host{master, node} {
		checkClean(t, h)
	}
	egress, err := w.Egress(ctx)
	if err != nil || egress.Sent != 0 {
		t.Errorf("egress toward the outside: %s attempts, %v; want none sent by the hosts", egress, err)
	}
}

// grep keeps the lines of text that hold any of subs.
func grep(text string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
