package deployer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/event"
)

// TestBastion installs through a jump host: the jump host (this machine)
// cannot reach the cluster's hosts at all, only the bastion can.
func TestBastion(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	for i := 1; i < 3; i++ {
		if err := s.w.BlockFromJump(i); err != nil {
			t.Fatal(err)
		}
	}
	bastion := snapshot(t, s.w.Hosts[0])
	c := s.cluster(bastionCluster)
	err := deployer.Apply(ctx, c, s.opts())
	s.keep()
	if err != nil {
		t.Fatalf("install through the bastion: %v", err)
	}
	if s.count(1, "kubeadm", "init") != 1 || s.count(2, "kubeadm", "join") != 1 {
		t.Errorf("init ran %d times, join %d times; want 1 and 1", s.count(1, "kubeadm", "init"), s.count(2, "kubeadm", "join"))
	}
	if n := s.nodes(1); len(n) != 2 {
		t.Errorf("the cluster has %d nodes, want 2", len(n))
	}
	// The hosts saw logins from the bastion, none from the jump host (whose
	// only connections are testhost's readiness probes).
	for i := 1; i < 3; i++ {
		log, _ := s.w.Hosts[i].SSHDLog()
		if !strings.Contains(log, "Accepted password for root from "+s.w.Hosts[0].IP+" ") || strings.Contains(log, "Accepted password for root from "+s.w.JumpIP+" ") {
			t.Errorf("host %d: sshd saw no login from the bastion %s, or one from the jump host %s:\n%s", i, s.w.Hosts[0].IP, s.w.JumpIP, log)
		}
	}
	// The bastion only forwards: nothing is installed on it.
	if changed := changes(bastion, snapshot(t, s.w.Hosts[0])); len(changed) > 0 {
		t.Errorf("the bastion was changed: %s", strings.Join(changed, " "))
	}
}

// TestPartitionedMidInstall cuts a node off the network when join-nodes
// begins: the run fails with an error that names it, soon (keepalives),
// and after the network heals the same command completes without redoing
// what was done.
func TestPartitionedMidInstall(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	c := s.cluster(passwordCluster)
	victim := s.w.Hosts[2]
	opts := s.opts()
	sink := opts.Sink
	// Three missed keepalives take 9-12 s: a host that is slow on a busy
	// machine is not taken for cut off (500 ms was seen to be).
	opts.KeepAlive = 3 * time.Second
	opts.ConnectTimeout = 3 * time.Second
	var cutAt time.Time // only the sink's goroutine writes it, before Apply returns
	opts.Sink = func(e event.Event) {
		sink(e)
		if e.Type == event.PhaseStart && e.Phase == event.JoinNodes {
			if err := s.w.Partition(2); err != nil {
				t.Error(err)
			}
			cutAt = time.Now()
		}
	}
	err := deployer.Apply(ctx, c, opts)
	if err == nil {
		t.Fatal("the install succeeded with a node cut off")
	}
	if !strings.Contains(err.Error(), "join-nodes") || !strings.Contains(err.Error(), "host "+victim.IP) {
		t.Fatalf("err = %v, want a join-nodes failure naming %s", err, victim.IP)
	}
	// Measured from the cut, not from the start: how long the install took
	// before it is the machine's load, not the deployer's. Three missed
	// keepalives are 9-12 s; the rest is slack for a busy machine.
	if cutAt.IsZero() {
		t.Fatal("join-nodes never started: the host was not cut off")
	}
	if took := time.Since(cutAt); took > time.Minute {
		t.Errorf("the failure took %s after the cut to show", took)
	}
	t.Logf("failed as expected %s after the cut: %v", time.Since(cutAt).Round(time.Millisecond), err)
	if err := s.w.Heal(2); err != nil {
		t.Fatal(err)
	}
	if err := deployer.Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("re-run after the heal: %v", err)
	}
	if s.count(0, "kubeadm", "init") != 1 || s.count(1, "kubeadm", "join") != 1 || s.count(2, "kubeadm", "join") != 1 || s.count(0, "kubectl", "apply") != 1 {
		t.Errorf("work was done twice or not at all: init %d, joins %d and %d, apply %d; want 1 each",
			s.count(0, "kubeadm", "init"), s.count(1, "kubeadm", "join"), s.count(2, "kubeadm", "join"), s.count(0, "kubectl", "apply"))
	}
	if n := s.nodes(0); len(n) != 3 {
		t.Errorf("the cluster has %d nodes, want 3", len(n))
	}
}

// TestUnreachableHostFailsPreflight: a host that does not answer at all
// fails preflight by name, and no host is changed.
func TestUnreachableHostFailsPreflight(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	var before []fsState
	for _, h := range s.w.Hosts {
		before = append(before, snapshot(t, h))
	}
	if err := s.w.Partition(1); err != nil {
		t.Fatal(err)
	}
	c := s.cluster(passwordCluster)
	opts := s.opts()
	opts.ConnectTimeout = 3 * time.Second
	start := time.Now()
	err := deployer.Apply(ctx, c, opts)
	if err == nil || !strings.Contains(err.Error(), "preflight") || !strings.Contains(err.Error(), "host "+s.w.Hosts[1].IP) {
		t.Fatalf("err = %v, want a preflight failure naming %s", err, s.w.Hosts[1].IP)
	}
	t.Logf("failed as expected after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err := s.w.Heal(1); err != nil {
		t.Fatal(err)
	}
	for i, h := range s.w.Hosts {
		if changed := changes(before[i], snapshot(t, h)); len(changed) > 0 {
			t.Errorf("host %d was changed although preflight failed: %s", i, strings.Join(changed, " "))
		}
	}
}

// TestPartitionedDuringJoin cuts a node off while its kubeadm join runs:
// the join left running on the host finishes or fails on its own after the
// heal, and the re-run must still complete, without joining twice.
func TestPartitionedDuringJoin(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	c := s.cluster(passwordCluster)
	victim := s.w.Hosts[2]
	opts := s.opts()
	// Three missed keepalives take 9-12 s: a host that is slow on a busy
	// machine is not taken for cut off (500 ms was seen to be).
	opts.KeepAlive = 3 * time.Second
	opts.ConnectTimeout = 3 * time.Second
	// The victim's kubeadm join waits at a gate (the fake's FAKEK8S_HOLD):
	// once it is there, the victim is cut off and the gate opened, so the
	// join runs on while the host is unreachable. No sampling: a join of
	// any speed is caught.
	const gate = "/var/lib/fakek8s-join-gate"
	if out, err := victim.Exec(ctx, "mkdir -p /etc/fakek8s && echo 'FAKEK8S_HOLD=kubeadm join="+gate+"' > /etc/fakek8s/env && touch "+gate); err != nil {
		t.Fatalf("setting the gate: %v: %s", err, out)
	}
	cut := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(5 * time.Minute)
		for time.Now().Before(deadline) {
			// From inside the host, not over the network.
			if _, err := victim.Exec(ctx, "test -f "+gate+".reached"); err == nil {
				err := s.w.Partition(2)
				if _, rmErr := victim.Exec(ctx, "rm -f "+gate+" /etc/fakek8s/env"); err == nil {
					err = rmErr
				}
				cut <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		cut <- errors.New("kubeadm join never reached the gate on the victim in 5 minutes")
	}()
	err := deployer.Apply(ctx, c, opts)
	if cerr := <-cut; cerr != nil {
		t.Fatalf("cutting the victim off during its join: %v", cerr)
	}
	if err == nil || !strings.Contains(err.Error(), "host "+victim.IP) {
		t.Fatalf("err = %v, want a failure naming %s", err, victim.IP)
	}
	t.Logf("failed as expected: %v", err)
	if err := s.w.Heal(2); err != nil {
		t.Fatal(err)
	}
	err = deployer.Apply(ctx, c, s.opts())
	s.keep()
	if err != nil {
		t.Fatalf("re-run after the heal: %v", err)
	}
	if n := s.nodes(0); len(n) != 3 {
		t.Errorf("the cluster has %d nodes, want 3", len(n))
	}
	// The cut-off attempt's config is gone too, whichever ended first.
	noConfigLeft(t, victim)
	for _, call := range s.allCalls(2) {
		if call.Command == "kubeadm" {
			exit := -1
			if call.Exit != nil {
				exit = *call.Exit
			}
			t.Logf("victim: %s at %s: exit %d after %dms", call.Line(), call.Time, exit, call.DurationMS)
		}
	}
}
