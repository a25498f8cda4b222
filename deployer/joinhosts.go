package deployer

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
)

// joinMasters joins the other masters one at a time (etcd grows member by
// member); joinNodes joins the workers in parallel. Both use a
// JoinConfiguration file, so the bootstrap token and certificate key never
// appear on a command line. Once every host joined, joinNodes gives the
// nodes the LABEL and TAINT plugins' labels and taints, then runs the
// post-install plugins (post-scaleup when scaleUp, for join) on master0.
type joinMasters struct{}
type joinNodes struct{ scaleUp bool }

// clusterAction is the cluster action that runs once the hosts joined.
func (j joinNodes) clusterAction() clusterfile.Action {
	if j.scaleUp {
		return clusterfile.PostScaleUp
	}
	return clusterfile.PostInstall
}

func (joinMasters) Name() string { return event.JoinMasters }
func (joinNodes) Name() string   { return event.JoinNodes }

func (joinMasters) Plan(r *run) []string { return joinPlan(r, r.joiningMasters(), "--control-plane") }
func (j joinNodes) Plan(r *run) []string {
	out := append(joinPlan(r, r.joiningNodes(), ""), r.nodePluginPlan()...)
	return append(out, r.pluginPlan(j.clusterAction(), nil)...)
}

func joinPlan(r *run, ips []string, extra string) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s: kubeadm join %s:6443 %s", ip, r.master0, extra)))
	}
	return out
}

func (r *run) joiningMasters() []string {
	var out []string
	for _, ip := range r.targets {
		if ip != r.master0 && r.host(ip).IsMaster() && !r.state.Done(event.JoinMasters, ip) {
			out = append(out, ip)
		}
	}
	return out
}

func (r *run) joiningNodes() []string {
	var out []string
	for _, ip := range r.targets {
		if !r.host(ip).IsMaster() && !r.state.Done(event.JoinNodes, ip) {
			out = append(out, ip)
		}
	}
	return out
}

func (joinMasters) Run(ctx context.Context, r *run) error {
	for _, ip := range r.joiningMasters() {
		if err := r.step(ctx, event.JoinMasters, ip, "", func(ctx context.Context) error { return r.join(ctx, event.JoinMasters, ip, true) }); err != nil {
			return fmt.Errorf("host %s: %w", ip, err)
		}
		// Joined, it serves the API itself.
		if err := r.apiServerAccess(ctx, event.JoinMasters, ip); err != nil {
			return err
		}
	}
	return r.refreshAPIServerAccess(ctx, event.JoinMasters)
}

func (j joinNodes) Run(ctx context.Context, r *run) error {
	err := parallel(ctx, r.joiningNodes(), r.opts.Concurrency, func(ctx context.Context, ip string) error {
		return r.step(ctx, event.JoinNodes, ip, "", func(ctx context.Context) error { return r.join(ctx, event.JoinNodes, ip, false) })
	})
	if err != nil {
		return err
	}
	if err := r.applyNodePlugins(ctx, event.JoinNodes); err != nil {
		return err
	}
	return r.runClusterPlugins(ctx, event.JoinNodes, j.clusterAction())
}

var joinCmdRe = regexp.MustCompile(`kubeadm join (\S+) --token (\S+)\s+--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})`)

// joinInfo asks master0 for a fresh bootstrap token (and, for masters, a
// certificate key): they expire, so none is kept between runs.
func (r *run) joinInfo(ctx context.Context, phase string, controlPlane bool) (endpoint, token, hash, certKey string, err error) {
	out, err := r.exec(ctx, phase, r.master0, "kubeadm token create --print-join-command", nil)
	if err != nil {
		return "", "", "", "", fmt.Errorf("creating a join token on %s: %w", r.master0, err)
	}
	m := joinCmdRe.FindStringSubmatch(out)
	if m == nil {
		return "", "", "", "", fmt.Errorf("unexpected output of kubeadm token create on %s", r.master0)
	}
	endpoint, token, hash = m[1], m[2], m[3]
	r.red.add(token)
	if !controlPlane {
		return endpoint, token, hash, "", nil
	}
	r.mu.Lock()
	certKey = r.certKey
	r.mu.Unlock()
	if certKey == "" {
		// The key is printed on a line of its own: the output is not logged.
		out, err := r.execQuiet(ctx, phase, r.master0, "kubeadm init phase upload-certs --upload-certs", nil)
		if err != nil {
			return "", "", "", "", fmt.Errorf("uploading control-plane certificates on %s: %w", r.master0, err)
		}
		k := certKeyRe.FindStringSubmatch(out)
		if k == nil {
			return "", "", "", "", fmt.Errorf("no certificate key in the output of kubeadm init phase upload-certs on %s", r.master0)
		}
		certKey = k[1]
		r.setCertKey(certKey)
	}
	return endpoint, token, hash, certKey, nil
}

func (r *run) join(ctx context.Context, phase, ip string, controlPlane bool) error {
	config := func() ([]byte, error) {
		_, token, hash, certKey, err := r.joinInfo(ctx, phase, controlPlane)
		if err != nil {
			return nil, err
		}
		if !controlPlane {
			// MergeKubeadm gives masters a controlPlane section only with a key.
			certKey = ""
		}
		return r.joinConfig(ip, token, []string{hash}, certKey)
	}
	// A join cut off half-way may have registered the node: kubeadm join
	// refuses to join it again while that Node is Ready.
	forget := func() error { return r.deleteNode(ctx, phase, ip) }
	if _, err := r.once(ctx, phase, ip, "kubeadm-join", `kubeadm join --config "$cfg"`, config, forget); err != nil {
		return fmt.Errorf("kubeadm join: %w", err)
	}
	if controlPlane {
		return r.userKubeconfig(ctx, phase, ip)
	}
	return nil
}

// deleteNode removes the Node with InternalIP ip from the cluster, if any.
func (r *run) deleteNode(ctx context.Context, phase, ip string) error {
	nodes, err := r.nodeNames(ctx, false)
	if err != nil {
		return fmt.Errorf("listing nodes on %s: %w", r.master0, err)
	}
	name, ok := nodes[ip]
	if !ok {
		return nil
	}
	r.logs.Printf(phase, ip, "removing node %s, left by the half-done join, from the cluster", name)
	script := fmt.Sprintf("export KUBECONFIG=%s\nkubectl delete node %s --ignore-not-found", adminConf, shell.Quote(name))
	if _, err := r.exec(ctx, phase, r.master0, script, nil); err != nil {
		return fmt.Errorf("removing node %s of a half-done join: %w", name, err)
	}
	return nil
}
