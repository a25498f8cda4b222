package deployer

import (
	"context"
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

// apps runs, on master0, in the rootfs, with the admin kubeconfig: the
// Kubefile's CMD lines in order, then the launch commands of the chosen
// apps (spec.appNames, else the installer's LAUNCH list), app by app. CMD
// lines come first because they set up what apps stand on (a base's CNI,
// storage). Each command is recorded with its inputs when it succeeds, so a
// re-run goes on with the first one that did not, and a new version of the
// installer (other manifests, other lines) runs them again.
type apps struct{}

func (apps) Name() string { return event.Apps }

// appCmd is one command of the apps phase.
type appCmd struct {
	step   string // its record in the state
	what   string // for errors: "CMD 2" or "app web"
	cmd    string
	inputs string
}

// appCmds lists the phase's commands in the order they run.
func (r *run) appCmds() []appCmd {
	idx := r.opts.Payload.Index()
	var out []appCmd
	for i, cmd := range idx.Cmds {
		out = append(out, appCmd{step: appStep(i), what: fmt.Sprintf("CMD %d", i+1), cmd: cmd, inputs: r.appInputs(i)})
	}
	chosen, _ := r.chosenApps()
	for _, a := range chosen {
		for j, cmd := range a.Launch {
			out = append(out, appCmd{step: fmt.Sprintf("%s/%s#%d", event.Apps, a.Name, j+1), what: "app " + a.Name,
				cmd: cmd, inputs: r.launchInputs(a, cmd)})
		}
	}
	return out
}

// chosenApps are the apps to launch, in order: spec.appNames, else the
// installer's default list. A name the installer does not carry is an
// error that names the carried apps.
func (r *run) chosenApps() ([]payload.App, error) {
	idx := r.opts.Payload.Index()
	names, where := idx.Launch, "the installer's LAUNCH list"
	if r.cluster.AppNames != nil {
		names, where = r.cluster.AppNames, r.cluster.AppNamesAt+"spec.appNames"
	}
	var out []payload.App
	for _, n := range names {
		a, ok := idx.App(n)
		if !ok {
			carried := "it carries no app"
			if len(idx.Apps) > 0 {
				carried = "it carries " + strings.Join(idx.AppNames(), ", ")
			}
			return nil, fmt.Errorf("%s: this installer has no app %q (%s)", where, n, carried)
		}
		out = append(out, a)
	}
	return out, nil
}

// checkApps refuses unknown app names before any host is touched.
func (r *run) checkApps() error {
	_, err := r.chosenApps()
	return err
}

func (apps) Plan(r *run) []string {
	var out []string
	for _, c := range r.appCmds() {
		done, why := r.state.Current(c.step, r.master0, c.inputs)
		switch {
		case done:
		case why != "":
			out = append(out, fmt.Sprintf("%s: %s (%s)", r.master0, c.cmd, why))
		default:
			out = append(out, fmt.Sprintf("%s: %s", r.master0, c.cmd))
		}
	}
	return out
}

func appStep(i int) string { return fmt.Sprintf("%s#%d", event.Apps, i+1) }

func (apps) Run(ctx context.Context, r *run) error {
	for _, c := range r.appCmds() {
		done, why := r.state.Current(c.step, r.master0, c.inputs)
		if done {
			r.emit(event.Event{Type: event.HostSkip, Phase: event.Apps, Host: r.master0, Message: c.cmd + ": already done"})
			continue
		}
		if why != "" {
			r.logs.Printf(event.Apps, r.master0, "%s: %s", c.cmd, why)
		}
		r.emit(event.Event{Type: event.HostStart, Phase: event.Apps, Host: r.master0, Message: c.cmd})
		env := r.env(r.master0)
		env["KUBECONFIG"] = adminConf
		if _, err := r.exec(ctx, event.Apps, r.master0, "cd "+RootfsDir+"\n"+c.cmd, env); err != nil {
			r.emit(event.Event{Type: event.HostFail, Phase: event.Apps, Host: r.master0, Message: err.Error()})
			return fmt.Errorf("%s (%s): %w", c.what, c.cmd, err)
		}
		if err := r.state.MarkInputs(c.step, r.master0, c.inputs, r.opts.Payload.Digest()); err != nil {
			return err
		}
		r.emit(event.Event{Type: event.HostDone, Phase: event.Apps, Host: r.master0, Message: c.cmd})
	}
	return nil
}

// launchInputs are what an app's launch command runs with: the command, the
// app's files and the environment.
func (r *run) launchInputs(a payload.App, cmd string) string {
	idx := r.opts.Payload.Index()
	lines := []string{"app " + a.Name, "cmd " + cmd}
	for _, f := range idx.Files {
		if strings.HasPrefix(f.Path, a.Prefix) {
			lines = append(lines, fileLines([]payload.File{f})...)
		}
	}
	lines = append(lines, idx.Env...)
	lines = append(lines, r.cluster.Env...)
	return digestOf(lines...)
}
