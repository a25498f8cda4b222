package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh"
)

// Plugins (the Clusterfile's Plugin documents) run inside the phases:
//
//	host-init   HOSTNAME on the hosts it names; pre-install (pre-scaleup on
//	            join) on master0; then on each host of the scope, in
//	            parallel: pre-init-host, init-host.sh, post-init-host
//	join-nodes  once every host joined: LABEL and TAINT, then post-install
//	            (post-scaleup on join) on master0
//	clean-host  on each host: pre-clean-host, the cleanup, post-clean-host
//
// The plugins of one action run in name order. Each run is recorded in the
// state with the digest of its inputs, as steps are: a re-run skips a plugin
// that succeeded with the same inputs and runs a changed one again.

// pluginStep is the state's name of plugin p's run at action a.
func pluginStep(p clusterfile.Plugin, a clusterfile.Action) string {
	if p.Type == clusterfile.PluginShell || p.Type == clusterfile.PluginExec {
		return "plugin:" + p.Name + ":" + string(a)
	}
	return "plugin:" + p.Name
}

// pluginWhat names a plugin's run for logs and errors.
func pluginWhat(p clusterfile.Plugin, a clusterfile.Action) string {
	switch p.Type {
	case clusterfile.PluginShell:
		return fmt.Sprintf("plugin %q (SHELL at %s)", p.Name, a)
	case clusterfile.PluginExec:
		return fmt.Sprintf("plugin %q (EXEC %s at %s)", p.Name, p.Data, a)
	}
	return fmt.Sprintf("plugin %q (%s)", p.Name, p.Type)
}

// pluginsAt lists the SHELL and EXEC plugins of action a, in name order.
func (r *run) pluginsAt(a clusterfile.Action) []clusterfile.Plugin {
	var out []clusterfile.Plugin
	for _, p := range r.cluster.Plugins {
		if (p.Type == clusterfile.PluginShell || p.Type == clusterfile.PluginExec) && p.RunsAt(a) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// inScope reports whether host ip is in p's scope: any of its roles,
// addresses or "master0"; every host for an empty scope.
func (r *run) inScope(p clusterfile.Plugin, ip string) bool {
	if len(p.Scope) == 0 {
		return true
	}
	h := r.host(ip)
	for _, s := range p.Scope {
		if s == ip || s == "master0" && ip == r.master0 || h.HasRole(s) {
			return true
		}
	}
	return false
}

// checkPlugins checks, before any host changes, that every EXEC plugin's
// executable is in the installer's rootfs.
func (r *run) checkPlugins() error {
	var errs []error
	for _, p := range r.cluster.Plugins {
		if p.Type != clusterfile.PluginExec {
			continue
		}
		if f, ok := r.opts.Payload.File(p.Data); !ok || f.Digest == "" {
			errs = append(errs, fmt.Errorf("Clusterfile:%d: plugin %q: %s is not a file of this installer's rootfs (COPY it into %s in the Kubefile)", p.Line, p.Name, p.Data, clusterfile.PluginDir))
		}
	}
	return errors.Join(errs...)
}

// runHostPlugins runs the plugins of host action a on ip, if in their scope.
func (r *run) runHostPlugins(ctx context.Context, phase string, a clusterfile.Action, ip string) error {
	for _, p := range r.pluginsAt(a) {
		if r.inScope(p, ip) {
			if err := r.runPlugin(ctx, phase, p, a, ip, []string{ip}); err != nil {
				return err
			}
		}
	}
	return nil
}

// runClusterPlugins runs the plugins of cluster action a on master0. A
// scale-up's runs are recorded for each joining host, so that the next
// join (or the same host joined again after a delete) runs them again.
func (r *run) runClusterPlugins(ctx context.Context, phase string, a clusterfile.Action) error {
	for _, p := range r.pluginsAt(a) {
		if err := r.runPlugin(ctx, phase, p, a, r.master0, r.recordHosts(a)); err != nil {
			return fmt.Errorf("host %s: %w", r.master0, err)
		}
	}
	return nil
}

// recordHosts are the hosts under which a cluster action's run is recorded.
func (r *run) recordHosts(a clusterfile.Action) []string {
	if a == clusterfile.PreScaleUp || a == clusterfile.PostScaleUp {
		return slices.Clone(r.targets)
	}
	return []string{r.master0}
}

// pluginDone reports whether step is recorded with inputs for every host of
// keys; why says why not, when it was done with other inputs.
func (r *run) pluginDone(step string, keys []string, inputs string) (bool, string) {
	for _, k := range keys {
		if done, why := r.state.Current(step, k, inputs); !done {
			return false, why
		}
	}
	return true, ""
}

// runPlugin runs a SHELL or EXEC plugin on ip at a unless it succeeded with
// the same inputs, then records it under keys.
func (r *run) runPlugin(ctx context.Context, phase string, p clusterfile.Plugin, a clusterfile.Action, ip string, keys []string) error {
	inputs := r.pluginInputs(p, a, ip, keys)
	step, what := pluginStep(p, a), pluginWhat(p, a)
	done, why := r.pluginDone(step, keys, inputs)
	if done {
		r.logs.Printf(phase, ip, "%s: already done", what)
		return nil
	}
	if why != "" {
		what += " (" + why + ")"
	}
	r.logs.Printf(phase, ip, "%s: running", what)
	env := r.pluginEnv(p, a, ip)
	script, err := r.pluginScript(ctx, p, a, ip, env)
	if err != nil {
		return fmt.Errorf("%s: %w", pluginWhat(p, a), err)
	}
	out, err := r.exec(ctx, phase, ip, script, env)
	if err != nil {
		err = r.pluginFailure(pluginWhat(p, a), ip, out, err)
		r.emit(event.Event{Type: event.HostFail, Phase: phase, Host: ip, Message: err.Error()})
		return err
	}
	r.logs.Printf(phase, ip, "%s: done", pluginWhat(p, a))
	return r.markPlugin(step, keys, inputs)
}

func (r *run) markPlugin(step string, keys []string, inputs string) error {
	for _, k := range keys {
		if err := r.state.MarkInputs(step, k, inputs, r.opts.Payload.Digest()); err != nil {
			return err
		}
	}
	return nil
}

// pluginFailure says which plugin failed, how (its exit status) and why
// (its error lines, else its last lines: stderr's, else stdout's).
func (r *run) pluginFailure(what, ip, out string, err error) error {
	how, cause := err.Error(), ""
	var re *ssh.RunError
	if errors.As(err, &re) {
		switch {
		case re.Signal != "":
			how = "killed by signal " + re.Signal
		case re.ExitCode >= 0:
			how = fmt.Sprintf("exit status %d", re.ExitCode)
		default:
			how = "ended without an exit status (the connection was lost?)"
		}
		cause = causeLines(re.Stderr)
	}
	if cause == "" {
		cause = causeLines(out)
	}
	msg := fmt.Sprintf("%s failed: %s", what, how)
	if cause != "" {
		msg += "\n" + cause
	}
	return &pluginError{msg: msg + fmt.Sprintf("\n(its whole output: %s)", r.logs.Path(ip)), err: err}
}

// pluginError is a failed plugin; it unwraps to the remote command's error.
type pluginError struct {
	msg string
	err error
}

func (e *pluginError) Error() string { return e.msg }
func (e *pluginError) Unwrap() error { return e.err }

// pluginEnv is the install environment, with the plugin's name and action,
// and the admin kubeconfig for the actions that run on an installed cluster.
func (r *run) pluginEnv(p clusterfile.Plugin, a clusterfile.Action, ip string) map[string]string {
	env := r.env(ip)
	env["SEALPACK_PLUGIN"] = p.Name
	env["SEALPACK_ACTION"] = string(a)
	switch a {
	case clusterfile.PostInstall, clusterfile.PreScaleUp, clusterfile.PostScaleUp:
		env["KUBECONFIG"] = adminConf
	}
	return env
}

// pluginScript is what runs on the host: a SHELL plugin's data in the
// rootfs (or / once clean-host removed it), or an EXEC plugin's
// executable, sent for this run, given the cluster as JSON on stdin.
func (r *run) pluginScript(ctx context.Context, p clusterfile.Plugin, a clusterfile.Action, ip string, env map[string]string) (string, error) {
	head := fmt.Sprintf("# %s\ncd %s 2>/dev/null || cd /\n", pluginWhat(p, a), RootfsDir)
	if p.Type == clusterfile.PluginShell {
		return head + p.Data + "\n", nil
	}
	run, err := r.execScript(ctx, p, a, ip, env)
	return head + run, err
}

// pluginInputs are what a plugin's run depends on: the plugin, the
// environment (but for what only says where the hosts are this time), an
// EXEC plugin's executable, and a scale-up's joining hosts.
func (r *run) pluginInputs(p clusterfile.Plugin, a clusterfile.Action, ip string, keys []string) string {
	lines := []string{"plugin " + p.Type + " " + string(a), p.Data, "scope " + strings.Join(p.Scope, "|")}
	if f, ok := r.opts.Payload.File(p.Data); ok && p.Type == clusterfile.PluginExec {
		lines = append(lines, "exec "+f.Digest)
	}
	if a == clusterfile.PreScaleUp || a == clusterfile.PostScaleUp {
		lines = append(lines, "joining "+strings.Join(keys, ","))
	}
	lines = append(lines, envLines(r.pluginEnv(p, a, ip))...)
	return digestOf(lines...)
}

// pluginPlan says where and when the plugins of action a would run on
// ips (those in scope, not already done).
func (r *run) pluginPlan(a clusterfile.Action, ips []string) []string {
	var out []string
	for _, p := range r.pluginsAt(a) {
		if !a.HostAction() {
			keys := r.recordHosts(a)
			if done, why := r.pluginDone(pluginStep(p, a), keys, r.pluginInputs(p, a, r.master0, keys)); !done {
				out = append(out, planLine(r.master0, pluginWhat(p, a), why))
			}
			continue
		}
		for _, ip := range ips {
			if !r.inScope(p, ip) {
				continue
			}
			if done, why := r.state.Current(pluginStep(p, a), ip, r.pluginInputs(p, a, ip, []string{ip})); !done {
				out = append(out, planLine(ip, pluginWhat(p, a), why))
			}
		}
	}
	return out
}

func planLine(ip, what, why string) string {
	if why != "" {
		return fmt.Sprintf("%s: (%s) %s", ip, why, what)
	}
	return ip + ": " + what
}
