package deployer

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
)

// HOSTNAME plugins name the hosts at the start of host-init, before
// anything reads the name: kubeadm names each node by its host name when
// it inits or joins. Preflight, which changes nothing, already checks the
// names the hosts will have (futureHostname). LABEL and TAINT plugins give
// the nodes their labels and taints once every host joined (join-nodes),
// and on join the new hosts.

// nodeLine is a line of a HOSTNAME, LABEL or TAINT plugin, with its plugin.
type nodeLine struct {
	p clusterfile.Plugin
	l clusterfile.PluginLine
}

// nodeLines are the lines of the plugins of type typ for the targets, in
// plugin name order.
func (r *run) nodeLines(types ...string) []nodeLine {
	var out []nodeLine
	for _, p := range r.cluster.Plugins {
		for _, l := range p.Lines {
			if slices.Contains(types, p.Type) && slices.Contains(r.targets, l.IP) {
				out = append(out, nodeLine{p, l})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].p.Name < out[j].p.Name })
	return out
}

func (n nodeLine) inputs() string {
	return digestOf("node plugin "+n.p.Type, n.l.Hostname, fmt.Sprint(n.l.Labels), fmt.Sprint(n.l.Unlabel), fmt.Sprint(n.l.Taints))
}

// futureHostname is the name host ip will have (now called current): a
// HOSTNAME plugin's, else its own. A host that already joined the cluster
// keeps its name: its node is named by it.
func (r *run) futureHostname(ip, current string) (string, error) {
	name, ok := r.cluster.Hostnames()[ip]
	if !ok || name == current {
		return current, nil
	}
	for _, step := range []string{event.InitMaster0, event.JoinMasters, event.JoinNodes} {
		if r.state.Done(step, ip) {
			return current, fmt.Errorf("a HOSTNAME plugin names it %s, but it joined the cluster as %s (its node's name): keep that name in the plugin, or delete the host and join it again", name, current)
		}
	}
	return name, nil
}

// hostnameScript sets the host name (%[2]s) through hostnamectl where
// systemd runs, else hostname and /etc/hostname, and names the host's own
// address by it in /etc/hosts (%[3]s: hostsLineScript; reset removes it).
const hostnameScript = `# %[1]s: host name %[2]s
set -e
if [ "$(hostname)" != %[2]s ]; then
  hostnamectl set-hostname %[2]s 2>/dev/null || { hostname %[2]s && printf '%%s\n' %[2]s > /etc/hostname; }
fi
[ "$(hostname)" = %[2]s ] || { echo "the host name is still $(hostname)" >&2; exit 1; }
%[3]s`

// setHostnames runs the HOSTNAME plugins on the targets they name.
func (r *run) setHostnames(ctx context.Context, phase string) error {
	lines := r.nodeLines(clusterfile.PluginHostname)
	return eachUntilError(ctx, len(lines), r.opts.Concurrency, func(ctx context.Context, i int) error {
		n := lines[i]
		step, what := pluginStep(n.p, ""), pluginWhat(n.p, "")
		if done, _ := r.state.Current(step, n.l.IP, n.inputs()); done {
			r.logs.Printf(phase, n.l.IP, "%s: host name %s already set", what, n.l.Hostname)
			return nil
		}
		name := n.l.Hostname // checked: a DNS subdomain, nothing to quote
		script := fmt.Sprintf(hostnameScript, what, name, hostsLineScript(name, n.l.IP))
		if out, err := r.exec(ctx, phase, n.l.IP, script, nil); err != nil {
			err = r.pluginFailure(what, n.l.IP, out, err)
			r.emit(event.Event{Type: event.HostFail, Phase: phase, Host: n.l.IP, Message: err.Error()})
			return fmt.Errorf("host %s: %w", n.l.IP, err)
		}
		return r.markPlugin(step, []string{n.l.IP}, n.inputs())
	})
}

// hostnamePlan says which hosts get which name.
func (r *run) hostnamePlan() []string {
	var out []string
	for _, n := range r.nodeLines(clusterfile.PluginHostname) {
		if done, _ := r.state.Current(pluginStep(n.p, ""), n.l.IP, n.inputs()); !done {
			out = append(out, fmt.Sprintf("%s: %s: host name %s", n.l.IP, pluginWhat(n.p, ""), n.l.Hostname))
		}
	}
	return out
}

// nodePluginPlan says which nodes get which labels and taints.
func (r *run) nodePluginPlan() []string {
	var out []string
	for _, n := range r.nodeLines(clusterfile.PluginLabel, clusterfile.PluginTaint) {
		if done, _ := r.state.Current(pluginStep(n.p, ""), n.l.IP, n.inputs()); !done {
			out = append(out, fmt.Sprintf("%s: %s: kubectl %s on its node", r.master0, pluginWhat(n.p, ""), n.changes(nodeItem{})))
		}
	}
	return out
}

// applyNodePlugins gives the targets' nodes the LABEL and TAINT plugins'
// labels and taints, from master0, once the nodes are registered.
func (r *run) applyNodePlugins(ctx context.Context, phase string) error {
	var todo []nodeLine
	for _, n := range r.nodeLines(clusterfile.PluginLabel, clusterfile.PluginTaint) {
		if done, _ := r.state.Current(pluginStep(n.p, ""), n.l.IP, n.inputs()); done {
			r.logs.Printf(phase, r.master0, "%s: %s already done", pluginWhat(n.p, ""), n.l.IP)
		} else {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	nodes, err := r.registeredNodes(ctx, todo)
	if err != nil {
		return err
	}
	for _, n := range todo {
		node := nodes[n.l.IP]
		what := pluginWhat(n.p, "") + " on node " + node.Metadata.Name + " (" + n.l.IP + ")"
		script := fmt.Sprintf("# %s\nset -e\nexport KUBECONFIG=%s\n%s", what, adminConf, n.commands(node))
		if out, err := r.exec(ctx, phase, r.master0, script, nil); err != nil {
			err = r.pluginFailure(what, r.master0, out, err)
			r.emit(event.Event{Type: event.HostFail, Phase: phase, Host: n.l.IP, Message: err.Error()})
			return fmt.Errorf("host %s: %w", r.master0, err)
		}
		if err := r.markPlugin(pluginStep(n.p, ""), []string{n.l.IP}, n.inputs()); err != nil {
			return err
		}
	}
	return nil
}

// registeredNodes waits until every host of lines has a Node (Ready or
// not: kubelet registers it right after kubeadm join), within ReadyTimeout.
func (r *run) registeredNodes(ctx context.Context, lines []nodeLine) (map[string]nodeItem, error) {
	deadline := time.Now().Add(r.opts.ReadyTimeout)
	for {
		nodes, err := r.nodes(ctx, false)
		var missing []string
		for _, n := range lines {
			if _, ok := nodes[n.l.IP]; !ok && !slices.Contains(missing, n.l.IP) {
				missing = append(missing, n.l.IP)
			}
		}
		if err == nil && len(missing) == 0 {
			return nodes, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("listing nodes on %s for the LABEL and TAINT plugins: %w", r.master0, err)
			}
			return nil, fmt.Errorf("no node with InternalIP %s after %s, for the LABEL and TAINT plugins", strings.Join(missing, ", "), r.opts.ReadyTimeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// changes are the kubectl label or taint arguments of the line; removals
// only of what the node has (kubectl refuses to remove a missing taint).
func (n nodeLine) changes(node nodeItem) string {
	var args []string
	keys := make([]string, 0, len(n.l.Labels))
	for k := range n.l.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, shell.Quote(k+"="+n.l.Labels[k]))
	}
	for _, k := range n.l.Unlabel {
		if _, ok := node.Metadata.Labels[k]; ok || node.Metadata.Name == "" {
			args = append(args, shell.Quote(k+"-"))
		}
	}
	for _, t := range n.l.Taints {
		if !t.Remove || node.hasTaint(t.Key, "*", t.Effect) || node.Metadata.Name == "" {
			args = append(args, shell.Quote(t.String()))
		}
	}
	verb := "label"
	if n.p.Type == clusterfile.PluginTaint {
		verb = "taint"
	}
	return verb + " " + strings.Join(args, " ")
}

// commands is the kubectl command of the line for node, or true when the
// node already has what the line removes.
func (n nodeLine) commands(node nodeItem) string {
	c := n.changes(node)
	verb, args, _ := strings.Cut(c, " ")
	if args == "" {
		return "true\n"
	}
	return fmt.Sprintf("kubectl %s node %s %s --overwrite\n", verb, shell.Quote(node.Metadata.Name), args)
}
