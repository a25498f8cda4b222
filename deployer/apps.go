package deployer

import (
	"context"
	"fmt"

	"github.com/sealpack/sealpack/deployer/event"
)

// apps runs the Kubefile's CMD lines on master0, in order, in the rootfs,
// with the admin kubeconfig. Each command is recorded with its inputs when it
// succeeds, so a re-run goes on with the first one that did not, and a new
// version of the installer (other manifests, other lines) runs them again.
type apps struct{}

func (apps) Name() string { return event.Apps }

func (apps) Plan(r *run) []string {
	var out []string
	for i, cmd := range r.opts.Payload.Index().Cmds {
		done, why := r.state.Current(appStep(i), r.master0, r.appInputs(i))
		switch {
		case done:
		case why != "":
			out = append(out, fmt.Sprintf("%s: %s (%s)", r.master0, cmd, why))
		default:
			out = append(out, fmt.Sprintf("%s: %s", r.master0, cmd))
		}
	}
	return out
}

func appStep(i int) string { return fmt.Sprintf("%s#%d", event.Apps, i+1) }

func (apps) Run(ctx context.Context, r *run) error {
	for i, cmd := range r.opts.Payload.Index().Cmds {
		inputs := r.appInputs(i)
		done, why := r.state.Current(appStep(i), r.master0, inputs)
		if done {
			r.emit(event.Event{Type: event.HostSkip, Phase: event.Apps, Host: r.master0, Message: cmd + ": already done"})
			continue
		}
		if why != "" {
			r.logs.Printf(event.Apps, r.master0, "%s: %s", cmd, why)
		}
		r.emit(event.Event{Type: event.HostStart, Phase: event.Apps, Host: r.master0, Message: cmd})
		env := r.env(r.master0)
		env["KUBECONFIG"] = adminConf
		if _, err := r.exec(ctx, event.Apps, r.master0, "cd "+RootfsDir+"\n"+cmd, env); err != nil {
			r.emit(event.Event{Type: event.HostFail, Phase: event.Apps, Host: r.master0, Message: err.Error()})
			return fmt.Errorf("CMD %d (%s): %w", i+1, cmd, err)
		}
		if err := r.state.MarkInputs(appStep(i), r.master0, inputs, r.opts.Payload.Digest()); err != nil {
			return err
		}
		r.emit(event.Event{Type: event.HostDone, Phase: event.Apps, Host: r.master0, Message: cmd})
	}
	return nil
}
