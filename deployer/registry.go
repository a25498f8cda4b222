package deployer

import (
	"context"
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
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
		if r.host(ip).IsMaster() && r.opts.ClusterRegistry {
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
	// A joined master serves the images too: the other hosts learn of it.
	return r.refreshMirrors(ctx, event.Registry)
}
