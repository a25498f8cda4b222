package deployer

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// hostInit prepares every host: the image's scripts/init-host.sh (container
// runtime, kernel settings) with the install environment, and containerd
// pointed at the cluster registry for every registry the carried images
// name, through /etc/containerd/certs.d/<registry>/hosts.toml, so that no
// manifest has to be rewritten. Plugins run around it (plugin.go):
// HOSTNAME first, then pre-install (pre-scaleup when scaleUp, for join) on
// master0, then pre-init-host and post-init-host around each host's init.
type hostInit struct{ scaleUp bool }

// clusterAction is the cluster action that runs before the hosts' init.
func (h hostInit) clusterAction() clusterfile.Action {
	if h.scaleUp {
		return clusterfile.PreScaleUp
	}
	return clusterfile.PreInstall
}

func (hostInit) Name() string { return event.HostInit }

const initHostScript = "scripts/init-host.sh"

func (h hostInit) Plan(r *run) []string {
	out := append(r.hostnamePlan(), r.pluginPlan(h.clusterAction(), nil)...)
	out = append(out, r.pluginPlan(clusterfile.PreInitHost, r.targets)...)
	_, hasScript := r.opts.Payload.File(initHostScript)
	for _, ip := range r.targets {
		done, why := r.state.Current(event.HostInit, ip, r.hostInitInputs(ip))
		if done {
			continue
		}
		line := ip + ": "
		if why != "" {
			line += "(" + why + ") "
		}
		if hasScript {
			line += "run " + initHostScript + ", "
		}
		out = append(out, line+fmt.Sprintf("point containerd at %s for %s", r.registryAddr(ip), strings.Join(registryHosts(r.opts.Payload), ", ")))
	}
	return append(out, r.pluginPlan(clusterfile.PostInitHost, r.targets)...)
}

func (h hostInit) Run(ctx context.Context, r *run) error {
	if err := r.setHostnames(ctx, event.HostInit); err != nil {
		return err
	}
	if err := r.runClusterPlugins(ctx, event.HostInit, h.clusterAction()); err != nil {
		return err
	}
	return parallel(ctx, r.targets, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		if err := r.runHostPlugins(ctx, event.HostInit, clusterfile.PreInitHost, ip); err != nil {
			return err
		}
		if err := r.hostInitStep(ctx, ip); err != nil {
			return err
		}
		if err := r.runHostPlugins(ctx, event.HostInit, clusterfile.PostInitHost, ip); err != nil {
			return err
		}
		return r.apiServerAccess(ctx, event.HostInit, ip)
	})
}

func (r *run) hostInitStep(ctx context.Context, ip string) error {
	return r.step(ctx, event.HostInit, ip, r.hostInitInputs(ip), func(ctx context.Context) error {
		script := "set -e\n"
		addr := r.openRegistry(ip)
		if addr != "" {
			if err := r.putRegistryCAs(ctx, ip); err != nil {
				return err
			}
			if err := r.putPullCredentials(ctx, ip); err != nil {
				return err
			}
			script += mirrorScript(registryHosts(r.opts.Payload), r.mirrors(addr)) + r.registryNameScript(ip)
		}
		if _, ok := r.opts.Payload.File(initHostScript); ok {
			script += "cd " + RootfsDir + "\nsh ./" + initHostScript + "\n"
		}
		if addr != "" {
			script += containerdConfScript
		}
		script += fmt.Sprintf("mkdir -p %s && printf '%%s\\n' %s > %s\n", path.Dir(markerPath), shell.Quote(r.cluster.Name), markerPath)
		_, err := r.exec(ctx, event.HostInit, ip, script, r.env(ip))
		return err
	})
}

// mirror is a registry containerd pulls through: the installer's own over
// plain HTTP on the host's loopback, a master's over HTTPS checked against
// the cluster's registry CA at path ca, or the site's registry.
type mirror struct {
	addr string
	tls  bool
	ca   string // empty: the system's CAs
}

// registryHosts lists the registries the carried images come from.
func registryHosts(p *payload.Reader) []string {
	seen := map[string]bool{}
	for _, im := range p.Index().Images {
		host, _, ok := strings.Cut(im.Name, "/")
		if ok {
			seen[host] = true
		}
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// mirrorScript writes containerd's hosts.toml for every registry host: pulls
// of docker.io/... go to the installer's registry while it runs, then to the
// masters' registries, in that order (containerd tries the next mirror when
// one does not answer), and to the original server last. The registries
// tell the upstream registries apart by containerd's ?ns= query.
func mirrorScript(hosts []string, mirrors []mirror) string {
	var b strings.Builder
	for _, host := range hosts {
		server := "https://" + host
		if host == "docker.io" {
			server = "https://registry-1.docker.io"
		}
		dir := "/etc/containerd/certs.d/" + host
		fmt.Fprintf(&b, "mkdir -p %s\ncat > %s/hosts.toml <<'SEALPACK_EOF'\n", shell.Quote(dir), shell.Quote(dir))
		fmt.Fprintf(&b, "# written by sealpack: images of %s are served by the cluster registry\n", host)
		fmt.Fprintf(&b, "server = %s\n", strconv.Quote(server))
		for _, m := range mirrors {
			switch {
			case !m.tls:
				fmt.Fprintf(&b, "\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n  skip_verify = true\n", strconv.Quote("http://"+m.addr))
			case m.ca == "":
				fmt.Fprintf(&b, "\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n", strconv.Quote("https://"+m.addr))
			default:
				fmt.Fprintf(&b, "\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = %s\n", strconv.Quote("https://"+m.addr), strconv.Quote(m.ca))
			}
		}
		b.WriteString("SEALPACK_EOF\n")
	}
	return b.String()
}

// registryAddr is the registry address host ip pulls from (once
// openRegistry ran for it; before, where it will be).
func (r *run) registryAddr(ip string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.registries[ip]; ok {
		return a
	}
	return fmt.Sprintf("127.0.0.1:%d", r.opts.RegistryPort)
}

// openRegistry gives host ip a way to the installer's registry: a port on
// the host's own loopback, forwarded through its SSH connection, so that
// hosts behind a bastion or a firewall pull too; else (forwarding refused
// by sshd) the jump host's address on the route to the host. The forward
// lives as long as the run.
func (r *run) openRegistry(ip string) string {
	if r.opts.RegistryPort == 0 {
		return ""
	}
	r.mu.Lock()
	a, ok := r.registries[ip]
	r.mu.Unlock()
	if ok {
		return a
	}
	c := r.conn(ip)
	local := fmt.Sprintf("127.0.0.1:%d", r.opts.RegistryPort)
	addr, err := c.Forward(r.life, local, local)
	if err != nil {
		// The port may be taken on the host: any free one will do.
		addr, err = c.Forward(r.life, "127.0.0.1:0", local)
	}
	if err != nil {
		addr = fmt.Sprintf("%s:%d", c.LocalIP(), r.opts.RegistryPort)
		r.logs.Printf(event.Registry, ip, "no forward through SSH (%v): the host pulls from %s directly", err, addr)
	}
	r.mu.Lock()
	r.registries[ip] = addr
	r.mu.Unlock()
	return addr
}

// env is the environment of every script and CMD on host ip.
func (r *run) env(ip string) map[string]string {
	role := "node"
	if r.host(ip).IsMaster() {
		role = "master"
	}
	var masters, nodes []string
	for _, h := range r.cluster.Masters() {
		masters = append(masters, h.IP)
	}
	for _, h := range r.cluster.Nodes() {
		nodes = append(nodes, h.IP)
	}
	env := map[string]string{
		"SEALPACK_ROLE":     role,
		"SEALPACK_MASTER0":  r.master0,
		"SEALPACK_MASTERS":  strings.Join(masters, ","),
		"SEALPACK_NODES":    strings.Join(nodes, ","),
		"SEALPACK_REGISTRY": r.registryAddr(ip),
		"SEALPACK_ROOTFS":   RootfsDir,
		"SEALPACK_CLUSTER":  r.cluster.Name,
	}
	for _, kv := range r.host(ip).Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, kv := range r.opts.Payload.Index().Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if _, set := env[k]; !set {
				env[k] = v
			}
		}
	}
	return env
}
