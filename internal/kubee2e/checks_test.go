package kubee2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
)

// kubectl runs the base's kubectl on a master, against the real apiserver.
type kubectl struct {
	t *testing.T
	h *testhost.Host
}

func (k kubectl) try(ctx context.Context, args string) (string, error) {
	out, err := k.h.Exec(ctx, "kubectl --kubeconfig /etc/kubernetes/admin.conf "+args)
	return strings.TrimSpace(string(out)), err
}

// run returns the output's lines; a failure fails the test.
func (k kubectl) run(ctx context.Context, args string) []string {
	k.t.Helper()
	out, err := k.try(ctx, args)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v", args, err)
	}
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// until polls cond every two seconds until it holds, or fails the test
// with what it last said.
func (k kubectl) until(ctx context.Context, what string, timeout time.Duration, cond func() (bool, string)) {
	k.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			k.t.Fatalf("%s: not so after %s; last seen:\n%s", what, timeout, last)
		}
		time.Sleep(2 * time.Second)
	}
}

func (k kubectl) waitNodesReady(ctx context.Context, n int, timeout time.Duration) {
	k.t.Helper()
	k.until(ctx, fmt.Sprintf("%d nodes Ready", n), timeout, func() (bool, string) {
		out, err := k.try(ctx, `get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'`)
		if err != nil {
			return false, err.Error()
		}
		lines := strings.Fields(out)
		ready := 0
		for _, l := range lines {
			if strings.HasSuffix(l, "=True") {
				ready++
			}
		}
		return ready == n && len(lines) == n, out
	})
}

// waitPodsRunning waits until every pod in every namespace is Running and
// ready (or has Succeeded), and the system's own are among them.
func (k kubectl) waitPodsRunning(ctx context.Context, timeout time.Duration) {
	k.t.Helper()
	want := []string{"kube-system/coredns-", "kube-system/kube-proxy-", "kube-system/etcd-", "kube-system/kube-apiserver-",
		"kube-flannel/kube-flannel-ds-", "echo/echo-server-"}
	k.until(ctx, "every pod Running and ready", timeout, func() (bool, string) {
		out, err := k.try(ctx, `get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.phase} {.status.containerStatuses[*].ready} {.spec.nodeName}{"\n"}{end}'`)
		if err != nil {
			return false, err.Error()
		}
		ok := true
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && f[1] == "Succeeded": // a finished client
			case len(f) < 3 || f[1] != "Running" || strings.Contains(line, "false"):
				ok = false
			}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				ok = false
			}
		}
		return ok, out
	})
	k.t.Logf("pods:\n%s", strings.Join(k.run(ctx, "get pods -A -o wide"), "\n"))
}

// checkCrossNodeService runs a client on one worker against a Service that
// selects only the server pod on the other worker, by its DNS name.
func (k kubectl) checkCrossNodeService(ctx context.Context) {
	k.t.Helper()
	pods := k.run(ctx, `get pods -n echo -l app=echo-server -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}'`)
	if len(pods) != 2 {
		k.t.Fatalf("echo-server pods: %q, want 2", pods)
	}
	sort.Strings(pods)
	server := strings.Fields(pods[0])
	client := strings.Fields(pods[1])
	if server[1] == client[1] {
		k.t.Fatalf("both echo-server pods on node %s", server[1])
	}
	k.run(ctx, "label pod -n echo "+server[0]+" target=yes")
	svc := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"echo-one","namespace":"echo"},
"spec":{"selector":{"app":"echo-server","target":"yes"},"ports":[{"port":80,"targetPort":8080}]}}`
	if out, err := k.h.ExecInput(ctx, []byte(svc), "kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -"); err != nil {
		k.t.Fatalf("service echo-one: %v: %s", err, out)
	}
	overrides := fmt.Sprintf(`{"spec":{"nodeName":%q}}`, client[1])
	k.run(ctx, fmt.Sprintf(`run echo-client -n echo --image docker.io/sealpack/echo:1.0 --image-pull-policy IfNotPresent --restart Never --env NODE_NAME=%s --overrides '%s' -- get http://echo-one.echo.svc.cluster.local/`, client[1], overrides))
	k.until(ctx, "the client pod succeeds", 4*time.Minute, func() (bool, string) {
		out, _ := k.try(ctx, "get pod -n echo echo-client -o jsonpath='{.status.phase}'")
		return out == "Succeeded", out
	})
	logs := strings.Join(k.run(ctx, "logs -n echo echo-client"), "\n")
	want := fmt.Sprintf("from node %s: echo from pod %s on node %s", client[1], server[0], server[1])
	if logs != want {
		k.t.Errorf("client said %q, want %q", logs, want)
	}
}

// checkClean: after reset, nothing of Kubernetes or sealpack is left.
func checkClean(t *testing.T, h *testhost.Host) {
	t.Helper()
	checks := []struct{ what, cmd string }{
		{"kubelet or containerd running", "pgrep -l -x 'kubelet|containerd|containerd-shim-runc-v2|kube-proxy|flanneld|etcd' || true"},
		{"the cluster registry", "pgrep -af '[s]ealpack-registry registry' || ls /etc/systemd/system/sealpack-registry.service /usr/local/bin/sealpack-registry 2>/dev/null || true"},
		{"the apiserver balancer", "pgrep -af '[s]ealpack-apiserver-lb apiserver-lb' || ls /etc/systemd/system/sealpack-apiserver-lb.service /usr/local/bin/sealpack-apiserver-lb 2>/dev/null || true"},
		{"sealpack's /etc/hosts lines", "grep 'written by sealpack' /etc/hosts || true"},
		{"CNI interfaces", "ip -o link show | grep -E 'cni0|flannel|veth' || true"},
		{"iptables rules of Kubernetes or flannel", "iptables-save 2>/dev/null | grep -E 'KUBE-|FLANNEL|CNI-' || true"},
		{"files", "ls -d /root/.kube/config /var/lib/sealpack /etc/kubernetes/manifests/* /var/lib/kubelet /var/lib/etcd/member /etc/cni/net.d/* /opt/cni/bin/* /usr/local/bin/kube* /usr/local/bin/containerd /etc/systemd/system/kubelet.service /etc/systemd/system/containerd.service 2>/dev/null || true"},
	}
	for _, c := range checks {
		out, err := h.Exec(context.Background(), c.cmd)
		if s := strings.TrimSpace(string(out)); err != nil || s != "" {
			t.Errorf("%s: after reset, %s: %s %v", h.Name, c.what, s, err)
		}
	}
}

// checkPullAfterInstaller removes the app's image from a worker, deletes
// the app's pod there, and waits until its replacement runs: with the
// installer gone, only the masters' registries can serve the pull.
func (k kubectl) checkPullAfterInstaller(ctx context.Context, hosts []*testhost.Host) {
	k.t.Helper()
	pods := k.run(ctx, `get pods -n echo -l app=echo-server -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}'`)
	f := strings.Fields(pods[0])
	pod, node := f[0], f[1]
	// The replacement is a pod not seen before: another replica may run on
	// the same node already.
	before := map[string]bool{}
	for _, p := range pods {
		before[strings.Fields(p)[0]] = true
	}
	var h *testhost.Host
	for _, x := range hosts {
		if x.Name == node {
			h = x
		}
	}
	if h == nil {
		k.t.Fatalf("no test host for node %s", node)
	}
	if out, err := h.Exec(ctx, "crictl rmi "+echoImage+" && ! crictl inspecti "+echoImage+" >/dev/null 2>&1"); err != nil {
		k.t.Fatalf("%s: removing the image: %v: %s", node, err, out)
	}
	k.run(ctx, "delete pod -n echo --wait=false "+pod)
	k.until(ctx, "a new echo-server pod Running on "+node+" with the image pulled again", 4*time.Minute, func() (bool, string) {
		out, _ := k.try(ctx, `get pods -n echo -l app=echo-server -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.status.containerStatuses[*].state.waiting.message}{"\n"}{end}'`)
		for _, line := range strings.Split(out, "\n") {
			g := strings.Fields(line)
			if len(g) >= 3 && !before[g[0]] && g[1] == node && g[2] == "Running" {
				return true, out
			}
		}
		return false, out
	})
	if out, err := h.Exec(ctx, "crictl inspecti -o go-template --template '{{.status.repoDigests}}' "+echoImage); err != nil {
		k.t.Errorf("%s: the image is not back: %v: %s", node, err, out)
	}
}

// checkEveryImagePulls: once the installer has exited, every node pulls
// every carried image through CRI (crictl, as kubelet does) by its original
// name, and gets the digest the installer carried.
func checkEveryImagePulls(t *testing.T, ctx context.Context, s *site, hosts []*testhost.Host) {
	t.Helper()
	out, err := exec.CommandContext(ctx, s.installer, "inspect", "--json").Output()
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	var rep struct {
		Images []struct{ Name, Digest string }
	}
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Images) == 0 {
		t.Fatalf("inspect --json: %v: %s", err, out)
	}
	for _, h := range hosts {
		for _, im := range rep.Images {
			out, err := h.Exec(ctx, "crictl pull "+im.Name+" >/dev/null && crictl inspecti -o go-template --template '{{.status.repoDigests}}' "+im.Name)
			if err != nil || !strings.Contains(string(out), im.Digest) {
				t.Errorf("%s: crictl pull %s: %v: %s (want digest %s)", h.Name, im.Name, err, out, im.Digest)
			}
		}
	}
}
