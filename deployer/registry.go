package deployer

import (
	"context"
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// registry makes the carried images pullable from every host. For now the
// hosts pull from the installer's embedded registry on the jump host (each
// host through the jump host address that routes to it); this phase checks
// that every host reaches it before kubeadm needs an image.
type registry struct{}

func (registry) Name() string { return event.Registry }

func (registry) Plan(r *run) []string {
	if len(r.opts.Payload.Index().Images) == 0 || r.opts.RegistryPort == 0 {
		return nil
	}
	var out []string
	if ext := r.siteRegistry(); ext != nil {
		out = append(out, fmt.Sprintf("push %d images to the site's registry %s; no registry runs in the cluster", len(r.opts.Payload.Index().Images), ext.Addr()))
		for _, ip := range r.targets {
			out = append(out, fmt.Sprintf("%s: pulls images from %s", ip, ext.Addr()))
		}
		return out
	}
	for _, ip := range r.targets {
		line := fmt.Sprintf("%s: pulls images from %s", ip, r.registryAddr(ip))
		if regs := r.clusterRegistries(); len(regs) > 0 {
			line += ", then from the masters' registries " + strings.Join(regs, ", ")
			if r.host(ip).IsMaster() {
				line += fmt.Sprintf("; gets the images (%s) and serves them on port %d", payload.HumanBytes(r.seedBytes()), r.cluster.RegistryPort())
			}
		}
		out = append(out, line)
	}
	return out
}

func (registry) Run(ctx context.Context, r *run) error {
	if len(r.opts.Payload.Index().Images) == 0 || r.opts.RegistryPort == 0 {
		r.logs.Printf(event.Registry, "", "no images carried: no registry needed")
		return nil
	}
	ext := r.siteRegistry()
	if ext != nil {
		if err := r.pushExternal(ctx); err != nil {
			return err
		}
	}
	err := parallel(ctx, r.targets, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		r.emit(event.Event{Type: event.HostStart, Phase: event.Registry, Host: ip})
		addr := r.openRegistry(ip)
		host, port, _ := strings.Cut(addr, ":")
		// Whatever client the host has: curl, wget, or bash's /dev/tcp.
		script := fmt.Sprintf(`if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null http://%[1]s/v2/
elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null http://%[1]s/v2/
elif command -v bash >/dev/null 2>&1; then bash -c 'exec 3<>/dev/tcp/%[2]s/%[3]s'
else echo "no curl, wget or bash to check the registry with"; fi`, addr, host, port)
		if _, err := r.exec(ctx, event.Registry, ip, script, nil); err != nil {
			err = fmt.Errorf("cannot reach the image registry at %s: %w", addr, err)
			r.emit(event.Event{Type: event.HostFail, Phase: event.Registry, Host: ip, Message: err.Error()})
			return err
		}
		if ext != nil {
			port := ext.Port
			if port == 0 {
				port = 443 // https, as the mirrors name it
			}
			if _, err := r.exec(ctx, event.Registry, ip, fmt.Sprintf("bash -c 'exec 3<>\"/dev/tcp/$1/$2\"' _ %s %d", shell.Quote(ext.Domain), port), nil); err != nil {
				err = fmt.Errorf("cannot reach the site's registry at %s: %w", ext.Addr(), err)
				r.emit(event.Event{Type: event.HostFail, Phase: event.Registry, Host: ip, Message: err.Error()})
				return err
			}
			r.emit(event.Event{Type: event.HostDone, Phase: event.Registry, Host: ip, Message: "pulls from " + ext.Addr()})
			return nil
		}
		if r.host(ip).IsMaster() && r.inClusterRegistry() {
			if err := r.seedRegistry(ctx, ip); err != nil {
				r.emit(event.Event{Type: event.HostFail, Phase: event.Registry, Host: ip, Message: err.Error()})
				return err
			}
			r.emit(event.Event{Type: event.HostDone, Phase: event.Registry, Host: ip, Message: fmt.Sprintf("serves the images on port %d (also after the installer exits)", r.cluster.RegistryPort())})
			return nil
		}
		r.emit(event.Event{Type: event.HostDone, Phase: event.Registry, Host: ip})
		return nil
	})
	if err != nil {
		return err
	}
	// The masters serve the images now: the hosts pull from them only, and
	// a joined master is known to the other hosts too.
	return r.refreshMirrors(ctx, event.Registry)
}
