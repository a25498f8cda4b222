package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// installPhases is an install: event.InstallPhases, the one ordered list
// (the wizard draws its rows from it), each name mapped to its phase.
func installPhases() []phase {
	byName := map[string]phase{}
	for _, p := range []phase{preflight{}, distribute{}, hostInit{}, registry{}, initMaster0{}, upgradeKubernetes{}, joinMasters{}, joinNodes{}, apps{}, verify{}} {
		byName[p.Name()] = p
	}
	out := make([]phase, len(event.InstallPhases))
	for i, name := range event.InstallPhases {
		p, ok := byName[name]
		if !ok {
			panic("deployer: install phase " + name + " has no implementation")
		}
		out[i] = p
	}
	return out
}

// Apply installs the cluster, or completes an install that stopped. It
// returns nil only when every host is a Ready node (or, with DryRun, when
// preflight passed).
func Apply(ctx context.Context, c *clusterfile.Cluster, opts Options) error {
	r, err := newRun(c, opts)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.checkPlugins(); err != nil {
		return r.finish(err)
	}
	if err := r.checkApps(); err != nil {
		return r.finish(err)
	}
	if err := r.checkUpgrade(); err != nil {
		return r.finish(err)
	}
	if err := r.warnEndpoint(); err != nil {
		return r.finish(err)
	}
	r.kubeUpgrades = true
	err = r.runPhases(ctx, installPhases())
	if err == nil && !r.opts.DryRun {
		err = r.state.SetInstalled(r.installerID())
	}
	return r.finish(err)
}

// Preflight connects to every host and runs the read-only checks, reporting
// each as an event (the wizard's preflight screen).
func Preflight(ctx context.Context, c *clusterfile.Cluster, opts Options) error {
	r, err := newRun(c, opts)
	if err != nil {
		return err
	}
	defer r.close()
	return preflight{}.Run(ctx, r)
}

// Join adds masters and nodes to a running cluster. c must already list them
// (the caller adds them to the Clusterfile); only they are changed, but every
// host is connected and its key checked.
func Join(ctx context.Context, c *clusterfile.Cluster, ips []string, opts Options) error {
	r, err := newRun(c, opts)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.only(ips); err != nil {
		return err
	}
	if !r.state.Done(event.InitMaster0, r.master0) {
		return fmt.Errorf("the cluster is not installed yet (no record of kubeadm init on %s in %s): install it first", r.master0, opts.StateDir)
	}
	if err := r.checkPlugins(); err != nil {
		return r.finish(err)
	}
	return r.finish(r.runPhases(ctx, []phase{preflight{}, distribute{}, hostInit{scaleUp: true}, registry{}, joinMasters{}, joinNodes{scaleUp: true}, verify{}}))
}

// Delete drains the nodes, removes them from the cluster and resets them.
func Delete(ctx context.Context, c *clusterfile.Cluster, ips []string, opts Options) error {
	r, err := newRun(c, opts)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.only(ips); err != nil {
		return err
	}
	r.leaving = map[string]bool{}
	for _, ip := range ips {
		if ip == r.master0 {
			return fmt.Errorf("%s is master0: delete the other hosts, or reset the whole cluster", ip)
		}
		r.leaving[ip] = true
	}
	if err := r.checkPlugins(); err != nil {
		return r.finish(err)
	}
	return r.finish(r.runPhases(ctx, []phase{connectOnly{}, drain{}, cleanHost{}}))
}

// Reset uninstalls the cluster from every host: scripts/clean-host.sh,
// kubeadm reset -f, and everything sealpack wrote.
func Reset(ctx context.Context, c *clusterfile.Cluster, opts Options) error {
	r, err := newRun(c, opts)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.checkPlugins(); err != nil {
		return r.finish(err)
	}
	return r.finish(r.runPhases(ctx, []phase{connectOnly{}, cleanHost{}}))
}

// only narrows the hosts this invocation changes.
func (r *run) only(ips []string) error {
	if len(ips) == 0 {
		return errors.New("no hosts given")
	}
	for _, ip := range ips {
		if _, ok := r.cluster.Host(ip); !ok {
			return fmt.Errorf("%s is not a host of the Clusterfile", ip)
		}
	}
	r.targets = slices.Clone(ips)
	return nil
}

func (r *run) finish(err error) error {
	st, msg := event.OK, "done"
	switch {
	case err != nil:
		st, msg = event.Fail, err.Error()
	case r.opts.DryRun:
		msg = "dry run: preflight passed, nothing was changed"
	}
	r.emit(event.Event{Time: time.Now(), Type: event.Done, Status: st, Message: msg})
	return err
}
