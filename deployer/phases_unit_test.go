package deployer

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer/event"
)

// unitCluster is a master and two nodes, by root's password.
const unitCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: unit}
spec:
  ssh: {passwd: root-password}
  hosts:
  - ips: [{{0}}]
    roles: [master]
  - ips: [{{1}}, {{2}}]
    roles: [node]
`

// twoOfThree is unitCluster before host 2 joined it.
var twoOfThree = strings.Replace(unitCluster, "[{{1}}, {{2}}]", "[{{1}}]", 1)

// phaseOrder is the order of the phases a run started, and a description
// of any that did not end well before the next began.
func phaseOrder(evs []event.Event) (order []string, broken []string) {
	open := ""
	for _, e := range evs {
		switch e.Type {
		case event.PhaseStart:
			if open != "" {
				broken = append(broken, open+" did not end before "+e.Phase)
			}
			order, open = append(order, e.Phase), e.Phase
		case event.PhaseDone:
			if e.Phase != open {
				broken = append(broken, "done for "+e.Phase+" while "+open+" ran")
			}
			open = ""
		case event.PhaseFail:
			broken = append(broken, e.Phase+" failed: "+e.Message)
		}
	}
	return order, broken
}

// Each verb runs its phases in its order, each to its end before the next.
func TestUnitPhaseOrder(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		verb string
		// before installs what the verb needs, run runs it.
		before, run func(s *fakeSite) error
		want        []string
	}{
		{"apply", nil,
			func(s *fakeSite) error { return Apply(ctx, s.cluster(unitCluster), s.opts()) },
			event.InstallPhases},
		{"join",
			func(s *fakeSite) error { return Apply(ctx, s.cluster(twoOfThree), s.opts()) },
			func(s *fakeSite) error { return Join(ctx, s.cluster(unitCluster), s.ips[2:], s.opts()) },
			[]string{event.Preflight, event.Distribute, event.HostInit, event.Registry, event.JoinMasters, event.JoinNodes, event.Verify}},
		{"delete",
			func(s *fakeSite) error { return Apply(ctx, s.cluster(unitCluster), s.opts()) },
			func(s *fakeSite) error { return Delete(ctx, s.cluster(unitCluster), s.ips[1:2], s.opts()) },
			[]string{event.Preflight, event.Drain, event.CleanHost}},
		{"reset",
			func(s *fakeSite) error { return Apply(ctx, s.cluster(unitCluster), s.opts()) },
			func(s *fakeSite) error { return Reset(ctx, s.cluster(unitCluster), s.opts()) },
			[]string{event.Preflight, event.CleanHost}},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			s := newFakeSite(t, 3, fakePayload{})
			if tt.before != nil {
				if err := tt.before(s); err != nil {
					t.Fatalf("install first: %v", err)
				}
			}
			m := s.mark()
			if err := tt.run(s); err != nil {
				t.Fatalf("%s: %v", tt.verb, err)
			}
			order, broken := phaseOrder(s.eventsSince(m, nil))
			if !slices.Equal(order, tt.want) {
				t.Errorf("phases %q, want %q", order, tt.want)
			}
			for _, b := range broken {
				t.Error(b)
			}
			done := s.eventsSince(m, func(e event.Event) bool { return e.Type == event.Done })
			if len(done) != 1 || done[0].Status != event.OK {
				t.Errorf("the run's end: %+v", done)
			}
			// Every connection the run made, it closed.
			closes := 0
			for _, ip := range s.ips {
				for _, c := range s.hosts[ip].Calls() {
					if c.Op == "close" {
						closes++
					}
				}
			}
			if closes != s.dials {
				t.Errorf("%d connections made, %d closed", s.dials, closes)
			}
		})
	}
}

// What master0 runs follows the phases: it is checked before anything is
// copied, prepared before kubeadm init, and the CMD lines run once the
// nodes have joined.
func TestUnitMaster0FollowsThePhases(t *testing.T) {
	s := newFakeSite(t, 3, fakePayload{})
	m := s.mark()
	if err := Apply(context.Background(), s.cluster(unitCluster), s.opts()); err != nil {
		t.Fatal(err)
	}
	scripts := strings.Join(s.scriptsSince(m, 0), "\n")
	steps := []string{
		`set \+e`,                     // preflight's facts
		`if command -v openssl`,       // distribute's survey of the files there
		`rm -f \S+registry-auth.toml`, // host-init: no credentials
		`set -e`,                      // host-init's script
		`if command -v curl`,          // registry reached
		`# kubeadm init --config \S+ --upload-certs \(once\)`,
		`kubeadm token create --print-join-command`, // for the nodes
		`cd /var/lib/sealpack/rootfs`,               // apps
		`KUBECONFIG=\S+ kubectl get nodes`,          // verify
	}
	at := 0
	for _, step := range steps {
		loc := regexp.MustCompile(`(?m)^` + step).FindStringIndex(scripts[at:])
		if loc == nil {
			t.Fatalf("master0 did not run %q after what came before; it ran:\n%s", step, scripts)
		}
		at += loc[1]
	}
}

// A dry run connects and runs preflight, then says what every phase would
// do, and changes nothing: no file is written, no script but preflight's
// runs, no step is recorded. After an install, it says what is left: nothing.
func TestUnitDryRunPlan(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{})
	c := s.cluster(unitCluster)
	opts := s.opts()
	opts.DryRun = true
	m := s.mark()
	if err := Apply(ctx, c, opts); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	for i := range s.ips {
		if w := s.writesSince(m, i); len(w) > 0 {
			t.Errorf("host %d written by a dry run: %q", i, w)
		}
		if got := s.scriptsSince(m, i); len(got) != 1 || got[0] != "set +e ..." {
			t.Errorf("host %d ran %q in a dry run, want preflight's facts alone", i, got)
		}
	}
	if steps := s.steps(); len(steps) > 0 {
		t.Errorf("a dry run recorded %q", steps)
	}
	plans := map[string]string{}
	for _, e := range s.eventsSince(m, func(e event.Event) bool { return e.Type == event.Plan }) {
		plans[e.Phase] += e.Message + "\n"
	}
	for _, want := range []struct{ phase, text string }{
		{event.Preflight, s.ips[2] + ": connect as root, check the host key"},
		{event.Distribute, s.ips[1] + ": copy 4 files"},
		{event.Distribute, s.ips[0] + ": copy 5 files"},
		{event.HostInit, s.ips[0] + ": run scripts/init-host.sh, point containerd at 127.0.0.1:5000 for docker.io"},
		{event.Registry, s.ips[2] + ": pulls images from 127.0.0.1:5000"},
		{event.InitMaster0, s.ips[0] + ": kubeadm init --config <generated> --upload-certs"},
		{event.JoinMasters, "nothing to do"},
		{event.JoinNodes, s.ips[2] + ": kubeadm join " + s.ips[0] + ":6443"},
		{event.Apps, s.ips[0] + ": kubectl apply -f manifests/"},
		{event.Verify, "wait until 3 host(s) are Ready nodes"},
	} {
		if !strings.Contains(plans[want.phase], want.text) {
			t.Errorf("plan of %s:\n%swant it to say %q", want.phase, plans[want.phase], want.text)
		}
	}
	skipped := s.eventsSince(m, func(e event.Event) bool { return e.Type == event.PhaseSkip })
	if len(skipped) != len(event.InstallPhases)-1 {
		t.Errorf("%d phases skipped by the dry run, want all but preflight: %+v", len(skipped), skipped)
	}

	// Installed, there is nothing left to plan but what always runs.
	if err := Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("install: %v", err)
	}
	m = s.mark()
	if err := Apply(ctx, c, opts); err != nil {
		t.Fatalf("dry run after the install: %v", err)
	}
	for _, e := range s.eventsSince(m, func(e event.Event) bool { return e.Type == event.Plan }) {
		switch e.Phase {
		case event.Preflight, event.Registry, event.Verify:
		default:
			if e.Message != "nothing to do" {
				t.Errorf("after the install, %s plans %q", e.Phase, e.Message)
			}
		}
	}
}
