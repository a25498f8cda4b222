package deployer

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// connectOnly connects to every host the Clusterfile names and checks its
// key, without the install checks: delete and reset work on hosts that
// already carry a cluster.
type connectOnly struct{}

func (connectOnly) Name() string { return event.Preflight }

func (connectOnly) Run(ctx context.Context, r *run) error {
	var all []string
	for _, h := range r.hosts {
		all = append(all, h.IP)
	}
	return parallel(ctx, all, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		if err := r.connect(ctx, ip); err != nil {
			r.emit(event.Event{Type: event.Check, Phase: event.Preflight, Host: ip, Check: "connect", Status: event.Fail, Message: err.Error()})
			return err
		}
		r.emit(event.Event{Type: event.Check, Phase: event.Preflight, Host: ip, Check: "connect", Status: event.OK, Message: "reachable, authenticated, host key verified"})
		return nil
	})
}

// drain moves the workloads off the nodes being deleted and removes them from
// the cluster, from master0.
type drain struct{}

func (drain) Name() string { return event.Drain }

func (drain) Plan(r *run) []string {
	var out []string
	for _, ip := range r.targets {
		out = append(out, fmt.Sprintf("%s: kubectl drain, kubectl delete node", ip))
	}
	return out
}

func (drain) Run(ctx context.Context, r *run) error {
	nodes, err := r.nodeNames(ctx, false)
	if err != nil {
		return fmt.Errorf("listing nodes on %s: %w", r.master0, err)
	}
	for _, ip := range r.targets {
		name, ok := nodes[ip]
		if !ok {
			r.logs.Printf(event.Drain, ip, "no node with InternalIP %s: nothing to drain", ip)
			continue
		}
		r.emit(event.Event{Type: event.HostStart, Phase: event.Drain, Host: ip, Message: "node " + name})
		script := fmt.Sprintf("export KUBECONFIG=%s\nkubectl drain %s --ignore-daemonsets --delete-emptydir-data --force --timeout=300s\nkubectl delete node %s",
			adminConf, shell.Quote(name), shell.Quote(name))
		if _, err := r.exec(ctx, event.Drain, r.master0, script, nil); err != nil {
			return fmt.Errorf("host %s (node %s): %w", ip, name, err)
		}
		r.emit(event.Event{Type: event.HostDone, Phase: event.Drain, Host: ip})
	}
	return nil
}

// cleanHost uninstalls from the target hosts: scripts/clean-host.sh, kubeadm
// reset -f, and what sealpack wrote; the pre-clean-host and post-clean-host
// plugins before and after, on the hosts of their scopes.
type cleanHost struct{}

func (cleanHost) Name() string { return event.CleanHost }

const cleanHostScript = "scripts/clean-host.sh"

func (cleanHost) Plan(r *run) []string {
	var out []string
	for _, ip := range r.targets {
		out = append(out, fmt.Sprintf("%s: %s, kubeadm reset -f, remove %s, /usr/local/bin/{%s}, containerd registry config",
			ip, cleanHostScript, stateDir, strings.Join(r.binNames(), ",")))
	}
	out = append(r.pluginPlan(clusterfile.PreCleanHost, r.targets), out...)
	return append(out, r.pluginPlan(clusterfile.PostCleanHost, r.targets)...)
}

// binNames are the programs distribute installed into /usr/local/bin.
func (r *run) binNames() []string {
	var out []string
	for _, f := range r.opts.Payload.Index().Files {
		if dir, name := path.Split(f.Path); dir == "bin/" && f.Type == payload.TypeFile {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (c cleanHost) Run(ctx context.Context, r *run) error {
	err := parallel(ctx, r.targets, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		r.emit(event.Event{Type: event.HostStart, Phase: event.CleanHost, Host: ip})
		if err := r.runHostPlugins(ctx, event.CleanHost, clusterfile.PreCleanHost, ip); err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "if [ -f %[1]s/%[2]s ]; then (cd %[1]s && sh ./%[2]s) || echo 'clean-host.sh failed; going on'; fi\n", RootfsDir, cleanHostScript)
		b.WriteString("if command -v kubeadm >/dev/null 2>&1; then kubeadm reset -f; fi\n")
		b.WriteString(registryStopScript)
		b.WriteString(apiLBStopScript)
		b.WriteString(containerdForgetScript)
		fmt.Fprintf(&b, "if [ -f %[1]s ]; then while read -r f; do rm -f \"$f\"; rmdir \"$(dirname \"$f\")\" 2>/dev/null; done < %[1]s; fi\n", userKubeconfigMark)
		for _, name := range r.binNames() {
			fmt.Fprintf(&b, "rm -f %s\n", shell.Quote("/usr/local/bin/"+name))
		}
		for _, host := range registryHosts(r.opts.Payload) {
			fmt.Fprintf(&b, "grep -qs 'written by sealpack' %[1]s/hosts.toml && rm -rf %[1]s\n", shell.Quote("/etc/containerd/certs.d/"+host))
		}
		fmt.Fprintf(&b, "rm -rf %s\ntrue\n", shell.Quote(stateDir))
		if _, err := r.exec(ctx, event.CleanHost, ip, b.String(), r.env(ip)); err != nil {
			r.emit(event.Event{Type: event.HostFail, Phase: event.CleanHost, Host: ip, Message: err.Error()})
			return err
		}
		if err := r.runHostPlugins(ctx, event.CleanHost, clusterfile.PostCleanHost, ip); err != nil {
			return err
		}
		r.emit(event.Event{Type: event.HostDone, Phase: event.CleanHost, Host: ip})
		return r.state.Forget(ip)
	})
	if err != nil {
		return err
	}
	// The hosts that stay forget the deleted masters' registries.
	if err := r.refreshMirrors(ctx, event.CleanHost); err != nil {
		return err
	}
	if err := r.refreshAPIServerAccess(ctx, event.CleanHost); err != nil {
		return err
	}
	if len(r.targets) == len(r.hosts) {
		for _, name := range []string{AdminConfName, caKeyName, caCertName} {
			os.Remove(filepath.Join(r.opts.StateDir, name))
		}
		return r.state.Forget("*")
	}
	return nil
}
