package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// upgradeKubernetes follows kubeadm's upgrade path when the installer
// carries another Kubernetes than the cluster runs: `kubeadm upgrade plan`
// and `apply` on master0, then, one host at a time (master0, the other
// masters, the nodes), `kubeadm upgrade node` where it is not master0, a
// drain, the new kubelet and kubectl, a restart of kubelet, and, once the
// node is Ready at the new version, an uncordon. distribute leaves a host's
// kubeadm, kubelet and kubectl in place until its turn (kubeBinsHeld).
// Which hosts are left is what the cluster says (their kubelets' versions),
// so a re-run resumes with the next host.
type upgradeKubernetes struct{}

func (upgradeKubernetes) Name() string { return event.UpgradeKubernetes }

// kubeBins are the binaries of a host's Kubernetes, installed by this phase
// on an upgrade rather than by distribute.
var kubeBins = []string{"kubeadm", "kubelet", "kubectl"}

// kubeUpgrade is what the preflight found: the versions when they differ.
type kubeUpgrade struct {
	from, to string
}

// carriedKubeVersion is the Kubernetes version this installer carries: its
// kubeadm defaults' kubernetesVersion, else its label.
func (r *run) carriedKubeVersion() (string, error) {
	defaults, err := r.opts.Payload.ReadFile(clusterfile.ImageKubeadmPath)
	if err != nil && !errors.Is(err, payload.ErrNotFound) {
		return "", err
	}
	if v := clusterfile.KubernetesVersion(defaults); v != "" {
		return v, nil
	}
	if v := r.opts.Payload.Index().Labels[kubeVersionLabel]; v != "" {
		return v, nil
	}
	return defaultKubeVersion, nil
}

// clusterKubeVersion is the version kubeadm last set up the control plane
// at (kubeadm-config's ClusterConfiguration).
func (r *run) clusterKubeVersion(ctx context.Context) (string, error) {
	out, err := r.conn(r.master0).Run(ctx, "KUBECONFIG="+adminConf+" kubectl get configmap -n kube-system kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'", nil, nil)
	if err != nil {
		return "", fmt.Errorf("reading the cluster's kubeadm-config on %s: %w", r.master0, err)
	}
	v := clusterfile.KubernetesVersion([]byte(out))
	if v == "" {
		return "", fmt.Errorf("the cluster's kubeadm-config on %s names no kubernetesVersion", r.master0)
	}
	return v, nil
}

// checkKubeVersion, in preflight of an installed cluster, compares the
// Kubernetes it runs (its control plane, and each node's kubelet) with the
// one carried: the same is nothing to do, the next minor (or a patch) an
// upgrade; an older one, or a minor skipped, is refused before any host
// changes, as kubeadm supports neither. A control plane already at the
// carried version with kubelets behind is an upgrade that stopped half-way.
func (r *run) checkKubeVersion(ctx context.Context) (status event.Status, msg string, err error) {
	to, err := r.carriedKubeVersion()
	if err != nil {
		return event.Fail, err.Error(), err
	}
	from, err := r.clusterKubeVersion(ctx)
	if err != nil {
		return event.Fail, err.Error(), err
	}
	nodes, err := r.nodes(ctx, false)
	if err != nil {
		return event.Fail, fmt.Sprintf("listing nodes on %s: %v", r.master0, err), err
	}
	var behind []string
	for _, ip := range r.upgradeOrder() {
		if v := nodes[ip].Status.NodeInfo.KubeletVersion; v != "" && v != to {
			if err := kubeUpgradePath(v, to); err != nil {
				return event.Fail, fmt.Sprintf("host %s: kubelet %s: %v", ip, v, err), err
			}
			behind = append(behind, ip)
		}
	}
	if from == to && len(behind) == 0 {
		return event.OK, to + ", as carried", nil
	}
	if err := kubeUpgradePath(from, to); err != nil {
		return event.Fail, err.Error(), err
	}
	r.mu.Lock()
	r.kubeUp = &kubeUpgrade{from: from, to: to}
	r.mu.Unlock()
	if from == to {
		return event.OK, fmt.Sprintf("%s; the kubelets of %s are behind: their upgrade goes on", to, strings.Join(behind, ", ")), nil
	}
	return event.OK, fmt.Sprintf("%s, upgraded to %s (kubeadm upgrade, one host at a time)", from, to), nil
}

// kubeUpgradePath says why kubeadm cannot go from one version to another:
// it upgrades one minor at a time and never downgrades.
func kubeUpgradePath(from, to string) error {
	pf, _, okF := parseVersion(from)
	pt, _, okT := parseVersion(to)
	if !okF || !okT || len(pf) < 2 || len(pt) < 2 {
		return fmt.Errorf("cannot compare Kubernetes %s (the cluster) with %s (this installer)", from, to)
	}
	if order, _ := compareVersions(to, from); order < 0 {
		return fmt.Errorf("the cluster runs Kubernetes %s, newer than the %s this installer carries: kubeadm cannot downgrade a cluster", from, to)
	}
	if pt[0] != pf[0] || pt[1] > pf[1]+1 {
		return fmt.Errorf("the cluster runs Kubernetes %s and this installer carries %s: kubeadm upgrades one minor version at a time; install an installer of v%d.%d.x first", from, to, pf[0], pf[1]+1)
	}
	return nil
}

func (r *run) pendingKubeUpgrade() *kubeUpgrade {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kubeUp
}

func (upgradeKubernetes) Plan(r *run) []string {
	up := r.pendingKubeUpgrade()
	if up == nil {
		return nil
	}
	out := []string{fmt.Sprintf("%s: kubeadm upgrade plan %s, kubeadm upgrade apply %[2]s (from %s)", r.master0, up.to, up.from)}
	for _, ip := range r.upgradeOrder() {
		out = append(out, ip+": drain, kubelet and kubectl "+up.to+", restart kubelet, uncordon")
	}
	return out
}

// upgradeOrder is master0, the other masters, then the nodes: the hosts of
// the cluster that have joined it.
func (r *run) upgradeOrder() []string {
	var masters, nodes []string
	for _, h := range r.hosts {
		switch {
		case r.leaving[h.IP]:
		case h.IP == r.master0:
		case h.IsMaster() && r.state.Done(event.JoinMasters, h.IP):
			masters = append(masters, h.IP)
		case !h.IsMaster() && r.state.Done(event.JoinNodes, h.IP):
			nodes = append(nodes, h.IP)
		}
	}
	return append(append([]string{r.master0}, masters...), nodes...)
}

func (upgradeKubernetes) Run(ctx context.Context, r *run) error {
	up := r.pendingKubeUpgrade()
	if up == nil {
		return nil
	}
	cur, err := r.clusterKubeVersion(ctx)
	if err != nil {
		return err
	}
	if cur != up.to {
		if err := r.upgradeControlPlane(ctx, up); err != nil {
			return err
		}
	}
	// One host at a time, each decided by what the cluster says of it, so
	// that a re-run goes on with the hosts not yet upgraded.
	for _, ip := range r.upgradeOrder() {
		nodes, err := r.nodes(ctx, false)
		if err != nil {
			return fmt.Errorf("listing nodes on %s: %w", r.master0, err)
		}
		n, ok := nodes[ip]
		if !ok {
			return fmt.Errorf("host %s: no node has this address", ip)
		}
		// A host drained by a run that stopped before its uncordon is not
		// done, whatever its kubelet says.
		drained, _ := r.state.Current(event.UpgradeKubernetes, ip, "drained "+up.to)
		if n.Status.NodeInfo.KubeletVersion == up.to && !drained {
			r.emit(event.Event{Type: event.HostSkip, Phase: event.UpgradeKubernetes, Host: ip, Message: "kubelet " + up.to + " already"})
			continue
		}
		r.emit(event.Event{Type: event.HostStart, Phase: event.UpgradeKubernetes, Host: ip})
		if err := r.upgradeHost(ctx, ip, n.Metadata.Name, up); err != nil {
			err = fmt.Errorf("host %s: upgrading to Kubernetes %s: %w", ip, up.to, err)
			r.emit(event.Event{Type: event.HostFail, Phase: event.UpgradeKubernetes, Host: ip, Message: err.Error()})
			return err
		}
		r.emit(event.Event{Type: event.HostDone, Phase: event.UpgradeKubernetes, Host: ip})
	}
	return nil
}

// upgradeControlPlane runs kubeadm's plan (for the log) and apply on master0
// with the carried kubeadm.
func (r *run) upgradeControlPlane(ctx context.Context, up *kubeUpgrade) error {
	r.emit(event.Event{Type: event.HostStart, Phase: event.UpgradeKubernetes, Host: r.master0, Message: "kubeadm upgrade apply " + up.to})
	script := installBinsScript("kubeadm") + cgroupV1Skip + fmt.Sprintf("kubeadm upgrade plan %[1]s $skip\nkubeadm upgrade apply %[1]s --yes $skip\n", shell.Quote(up.to))
	if _, err := r.exec(ctx, event.UpgradeKubernetes, r.master0, script, nil); err != nil {
		return fmt.Errorf("kubeadm upgrade apply %s on %s: %w", up.to, r.master0, err)
	}
	r.logs.Printf(event.UpgradeKubernetes, r.master0, "control plane at %s", up.to)
	return nil
}

// upgradeHost upgrades the kubelet of one host, drained meanwhile.
func (r *run) upgradeHost(ctx context.Context, ip, node string, up *kubeUpgrade) error {
	if ip != r.master0 {
		if _, err := r.exec(ctx, event.UpgradeKubernetes, ip, installBinsScript("kubeadm")+cgroupV1Skip+"kubeadm upgrade node $skip\n", nil); err != nil {
			return fmt.Errorf("kubeadm upgrade node: %w", err)
		}
	}
	if err := r.state.MarkInputs(event.UpgradeKubernetes, ip, "drained "+up.to, r.opts.Payload.Digest()); err != nil {
		return err
	}
	if err := r.kubectlRetry(ctx, "drain "+shell.Quote(node)+" --ignore-daemonsets --delete-emptydir-data --timeout=5m"); err != nil {
		return fmt.Errorf("draining node %s: %w", node, err)
	}
	if _, err := r.exec(ctx, event.UpgradeKubernetes, ip, installBinsScript("kubelet", "kubectl")+"systemctl daemon-reload\nsystemctl restart kubelet\n", nil); err != nil {
		return fmt.Errorf("the new kubelet: %w", err)
	}
	if err := r.waitKubelet(ctx, ip, node, up.to); err != nil {
		return err
	}
	if err := r.kubectlRetry(ctx, "uncordon "+shell.Quote(node)); err != nil {
		return fmt.Errorf("uncordoning node %s: %w", node, err)
	}
	r.logs.Printf(event.UpgradeKubernetes, ip, "node %s at %s", node, up.to)
	return r.state.MarkInputs(event.UpgradeKubernetes, ip, "upgraded "+up.to, r.opts.Payload.Digest())
}

// kubectlRetry runs kubectl args on master0 until it succeeds or
// Options.ReadyTimeout passes: a master's new kubelet restarts its static
// pods, the apiserver among them, and refuses connections meanwhile.
func (r *run) kubectlRetry(ctx context.Context, args string) error {
	deadline := time.Now().Add(r.opts.ReadyTimeout)
	for {
		_, err := r.exec(ctx, event.UpgradeKubernetes, r.master0, "KUBECONFIG="+adminConf+" kubectl "+args, nil)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// waitKubelet waits until node reports Ready with kubelet version v.
func (r *run) waitKubelet(ctx context.Context, ip, node, v string) error {
	deadline := time.Now().Add(r.opts.ReadyTimeout)
	q := "KUBECONFIG=" + adminConf + ` kubectl get node ` + shell.Quote(node) + ` -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}'`
	last := ""
	for {
		out, err := r.conn(r.master0).Run(ctx, q, nil, nil)
		last = strings.TrimSpace(out)
		if err == nil && last == v+" True" {
			return nil
		}
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not Ready at kubelet %s after %s (last seen: %s); see journalctl -u kubelet on %s", node, v, r.opts.ReadyTimeout, last, ip)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// cgroupV1Skip sets $skip to kubeadm's flag that skips its SystemVerification
// on a cgroup v1 host whose kubelet is configured to run there anyway
// (failCgroupV1: false, as bases/kubernetes sets): from v1.35 kubeadm fails
// such a host unless "you also explicitly skip this validation".
const cgroupV1Skip = `skip=
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] && grep -qs '^failCgroupV1: false' /var/lib/kubelet/config.yaml; then
	skip=--ignore-preflight-errors=SystemVerification
fi
`

// installBinsScript puts the carried names from the rootfs' bin/ into
// /usr/local/bin.
func installBinsScript(names ...string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, n := range names {
		fmt.Fprintf(&b, "install -m 0755 %s/bin/%s /usr/local/bin/%[2]s.sealpack-new && mv -f /usr/local/bin/%[2]s.sealpack-new /usr/local/bin/%[2]s\n", RootfsDir, n)
	}
	return b.String()
}
