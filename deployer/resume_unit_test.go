package deployer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh/sshtest"
)

// reruns lists the steps a run did again, as "phase host" ("apps N" for
// CMD line N on master0), each with the reason it gave ("" for none).
func (s *fakeSite) reruns(m mark, cmds []string) map[string]string {
	out := map[string]string{}
	for _, e := range s.eventsSince(m, func(e event.Event) bool { return e.Type == event.HostStart }) {
		switch e.Phase {
		case event.Preflight, event.Registry:
			// Not steps: they run every time.
		case event.Apps:
			i := slices.Index(cmds, e.Message)
			why := ""
			for _, l := range s.eventsSince(m, func(l event.Event) bool { return l.Type == event.Log && l.Phase == event.Apps }) {
				if rest, ok := strings.CutPrefix(l.Message, e.Message+": "); ok {
					why = rest
				}
			}
			out[fmt.Sprintf("apps %d", i+1)] = why
		default:
			out[fmt.Sprintf("%s %d", e.Phase, slices.Index(s.ips, e.Host))] = e.Message
		}
	}
	return out
}

var noWork = regexp.MustCompile(`^(# settle|# kubeadm|kubeadm |cd /var/lib/sealpack/rootfs|set -e|if command -v openssl)`)

// A second run of the same installer over the same Clusterfile does
// nothing again: no file is sent, no step's script runs.
func TestUnitRerunIsNoop(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{})
	c := s.cluster(unitCluster)
	if err := Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("install: %v", err)
	}
	installed := s.steps()
	m := s.mark()
	if err := Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	for i := range s.ips {
		if w := s.writesSince(m, i); len(w) > 0 {
			t.Errorf("host %d written again: %q", i, w)
		}
		for _, sc := range s.scriptsSince(m, i) {
			if noWork.MatchString(sc) {
				t.Errorf("host %d ran %q again", i, sc)
			}
		}
	}
	if got := s.reruns(m, s.p.Index().Cmds); len(got) > 0 {
		t.Errorf("steps done again: %v", got)
	}
	skipped := len(s.eventsSince(m, func(e event.Event) bool { return e.Type == event.HostSkip }))
	if want := 3 + 3 + 1 + 2; skipped != want { // distribute, host-init, init-master0, two CMD lines
		t.Errorf("%d steps skipped as already done, want %d", skipped, want)
	}
	if got := s.steps(); !slices.Equal(got, installed) {
		t.Errorf("records after the re-run %q, after the install %q", got, installed)
	}
}

// A recorded step runs again when what it was given changed, and says why;
// the steps whose inputs are the same are skipped.
func TestUnitChangedInputsRunAgain(t *testing.T) {
	changed := "its inputs changed since it was done"
	tests := []struct {
		name    string
		payload *fakePayload                  // the re-run's installer, when another
		cluster string                        // the re-run's Clusterfile, when another
		state   func(t *testing.T, st *State) // the state changed before the re-run
		want    map[string]string             // step -> reason
	}{
		{name: "init-host script", payload: &fakePayload{files: map[string]string{"scripts/init-host.sh": "#!/bin/sh\necho v2\n"}},
			want: map[string]string{"distribute 0": changed, "distribute 1": changed, "distribute 2": changed,
				"host-init 0": changed, "host-init 1": changed, "host-init 2": changed, "apps 1": changed, "apps 2": changed}},
		{name: "a manifest, on master0 alone", payload: &fakePayload{files: map[string]string{"manifests/app.yaml": "kind: ConfigMap\n"}},
			want: map[string]string{"distribute 0": changed, "apps 1": changed, "apps 2": changed}},
		{name: "second CMD line", payload: &fakePayload{cmds: []string{"kubectl apply -f manifests/", "kubectl get pods"}},
			want: map[string]string{"apps 2": changed}},
		{name: "Clusterfile env", cluster: strings.Replace(unitCluster, "  hosts:", "  env: [MODE=prod]\n  hosts:", 1),
			want: map[string]string{"host-init 0": changed, "host-init 1": changed, "host-init 2": changed, "apps 1": changed, "apps 2": changed}},
		{name: "recorded by an older sealpack", state: func(t *testing.T, st *State) {
			if err := st.Mark(event.Distribute, "10.0.0.11"); err != nil {
				t.Fatal(err)
			}
		}, want: map[string]string{"distribute 1": "recorded without its inputs (by an older sealpack): done again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newFakeSite(t, 3, fakePayload{})
			if err := Apply(ctx, s.cluster(unitCluster), s.opts()); err != nil {
				t.Fatalf("install: %v", err)
			}
			opts, text := s.opts(), unitCluster
			if tt.payload != nil {
				opts.Payload = newFakePayload(t, *tt.payload)
			}
			if tt.cluster != "" {
				text = tt.cluster
			}
			if tt.state != nil {
				st, err := LoadState(opts.StateDir, "unit")
				if err != nil {
					t.Fatal(err)
				}
				tt.state(t, st)
			}
			m := s.mark()
			if err := Apply(ctx, s.cluster(text), opts); err != nil {
				t.Fatalf("re-run: %v", err)
			}
			got := s.reruns(m, opts.Payload.Index().Cmds)
			for step, why := range tt.want {
				if g, ok := got[step]; !ok {
					t.Errorf("%s was not done again", step)
				} else if !strings.HasPrefix(g, why) {
					t.Errorf("%s done again because %q, want %q", step, g, why)
				}
			}
			for step := range got {
				if _, ok := tt.want[step]; !ok {
					t.Errorf("%s was done again (%q), its inputs are the same", step, got[step])
				}
			}
		})
	}
}

// A run stopped by a failing host goes on, when run again, from where it
// stopped: what was done on every host is kept, the failed step runs
// again where it failed, kubeadm init runs once.
func TestUnitResumeAfterFailure(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{})
	c := s.cluster(unitCluster)
	var broken atomic.Bool
	broken.Store(true)
	s.host(2).Handle(`> `+markerPath+`\n\z`, func(ctx context.Context, h *sshtest.Recorder, call sshtest.Call) sshtest.Reply {
		if broken.Load() {
			return sshtest.Reply{Exit: 1, Stderr: "modprobe: FATAL: Module br_netfilter not found"}
		}
		return markCluster(ctx, h, call)
	})
	err := Apply(ctx, c, s.opts())
	if err == nil || !strings.HasPrefix(err.Error(), "host-init: host 10.0.0.12: ") || !strings.Contains(err.Error(), "br_netfilter") {
		t.Fatalf("err = %v, want host-init failing on 10.0.0.12 with its cause", err)
	}
	want := []string{"distribute/10.0.0.10", "distribute/10.0.0.11", "distribute/10.0.0.12", "host-init/10.0.0.10", "host-init/10.0.0.11"}
	if got := s.steps(); !slices.Equal(got, want) {
		t.Errorf("recorded %q, want %q", got, want)
	}
	broken.Store(false)
	m := s.mark()
	if err := Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	got := s.reruns(m, s.p.Index().Cmds)
	for _, step := range []string{"distribute 0", "distribute 1", "distribute 2", "host-init 0", "host-init 1"} {
		if _, ok := got[step]; ok {
			t.Errorf("%s, done before the failure, was done again", step)
		}
	}
	for _, step := range []string{"host-init 2", "init-master0 0", "join-nodes 1", "join-nodes 2", "apps 1", "apps 2"} {
		if _, ok := got[step]; !ok {
			t.Errorf("%s was not done by the re-run", step)
		}
	}
	inits := 0
	for _, c := range s.host(0).Calls() {
		if strings.HasPrefix(c.Script, "# kubeadm init ") {
			inits++
		}
	}
	if inits != 1 {
		t.Errorf("kubeadm init ran %d times, want 1", inits)
	}
	if _, err := os.Stat(filepath.Join(s.dir, ".sealpack", AdminConfName)); err != nil {
		t.Errorf("the admin kubeconfig was not saved: %v", err)
	}
}
