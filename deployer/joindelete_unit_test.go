package deployer

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// editedCluster is a Clusterfile as a user keeps it, comments and all.
const editedCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: unit}
spec:
  ssh: {passwd: x} # root's
  hosts:
  - ips: [{{0}}]
    roles: [master]
  # the workers
  - ips: [{{1}}]
    roles: [node]
`

func parseCluster(t *testing.T, data []byte) *clusterfile.Cluster {
	t.Helper()
	c, _, err := clusterfile.Parse("Clusterfile", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return c
}

func hostIPs(c *clusterfile.Cluster) []string {
	var out []string
	for _, h := range c.Hosts() {
		out = append(out, h.IP)
	}
	return out
}

// join and delete as the installer's commands do them: the Clusterfile's
// host list edited by clusterfile.UpdateHosts, the deployer working on the
// hosts added or removed alone, the state following.
func TestUnitJoinThenDelete(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{})
	data := []byte(s.expand(editedCluster))
	if err := Apply(ctx, parseCluster(t, data), s.opts()); err != nil {
		t.Fatalf("install: %v", err)
	}

	joined, err := clusterfile.UpdateHosts(data, nil, []string{s.ips[2]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(joined), "# the workers") || !strings.Contains(string(joined), "# root's") {
		t.Errorf("the edit lost the user's comments:\n%s", joined)
	}
	c := parseCluster(t, joined)
	if got := hostIPs(c); !slices.Equal(got, s.ips) {
		t.Fatalf("hosts after the edit: %q", got)
	}
	m := s.mark()
	if err := Join(ctx, c, s.ips[2:], s.opts()); err != nil {
		t.Fatalf("join: %v", err)
	}
	for i := range 2 {
		if w := s.writesSince(m, i); len(w) > 0 {
			t.Errorf("join wrote to host %d, already a member: %q", i, w)
		}
	}
	if got := s.scriptsSince(m, 1); len(got) != 1 {
		t.Errorf("join ran %q on host 1; want its preflight alone", got)
	}
	if w := s.writesSince(m, 2); len(w) < 4 {
		t.Errorf("the joining host got %q; want the node's rootfs and its join configuration", w)
	}
	var hostInitEnv map[string]string
	joins := 0
	for _, call := range s.callsSince(m, 2) {
		if strings.HasSuffix(call.Script, "> "+markerPath+"\n") {
			hostInitEnv = call.Env
		}
		if strings.HasPrefix(call.Script, "# kubeadm join ") {
			joins++
		}
	}
	if joins != 1 || hostInitEnv["SEALPACK_NODES"] != s.ips[1]+","+s.ips[2] || hostInitEnv["SEALPACK_ROLE"] != "node" {
		t.Errorf("the joining host: %d joins, host-init with %v", joins, hostInitEnv)
	}
	if !slices.Contains(s.steps(), "join-nodes/"+s.ips[2]) {
		t.Errorf("the join is not recorded: %q", s.steps())
	}

	left, err := clusterfile.UpdateHosts(joined, nil, nil, []string{s.ips[1]})
	if err != nil {
		t.Fatal(err)
	}
	if got := hostIPs(parseCluster(t, left)); !slices.Equal(got, []string{s.ips[0], s.ips[2]}) {
		t.Errorf("hosts after the delete's edit: %q", got)
	}
	m = s.mark()
	// Delete works from the Clusterfile that still names the host.
	if err := Delete(ctx, c, s.ips[1:2], s.opts()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	ran := func(i int, text string) bool {
		for _, call := range s.callsSince(m, i) {
			if strings.Contains(call.Script, text) {
				return true
			}
		}
		return false
	}
	if !ran(0, "kubectl drain 'host-1' ") || !ran(0, "kubectl delete node 'host-1'") {
		t.Errorf("master0 did not drain and remove host-1: %q", s.scriptsSince(m, 0))
	}
	if reset := "kubeadm reset -f"; !ran(1, reset) || ran(0, reset) || ran(2, reset) {
		t.Errorf("reset: host 0 %v, host 1 %v, host 2 %v; want host 1 alone", ran(0, reset), ran(1, reset), ran(2, reset))
	}
	for _, st := range s.steps() {
		if strings.HasSuffix(st, "/"+s.ips[1]) {
			t.Errorf("the deleted host is still recorded: %s", st)
		}
	}
	if !slices.Contains(s.steps(), "join-nodes/"+s.ips[2]) || !slices.Contains(s.steps(), "init-master0/"+s.ips[0]) {
		t.Errorf("the hosts that stay lost their records: %q", s.steps())
	}
	s.mu.Lock()
	_, still := s.nodes[s.ips[1]]
	s.mu.Unlock()
	if still {
		t.Error("the deleted host is still a node of the cluster")
	}
}

// What join and delete refuse, they refuse before connecting to any host.
func TestUnitJoinDeleteRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		installed bool
		run       func(s *fakeSite, c *clusterfile.Cluster) error
		want      string
	}{
		{"join before the install", false,
			func(s *fakeSite, c *clusterfile.Cluster) error { return Join(ctx, c, s.ips[1:2], s.opts()) },
			"the cluster is not installed yet (no record of kubeadm init on 10.0.0.10"},
		{"join of a host not in the Clusterfile", true,
			func(s *fakeSite, c *clusterfile.Cluster) error { return Join(ctx, c, []string{"10.0.0.99"}, s.opts()) },
			"10.0.0.99 is not a host of the Clusterfile"},
		{"join of no host", true,
			func(s *fakeSite, c *clusterfile.Cluster) error { return Join(ctx, c, nil, s.opts()) },
			"no hosts given"},
		{"delete of master0", true,
			func(s *fakeSite, c *clusterfile.Cluster) error { return Delete(ctx, c, s.ips[:1], s.opts()) },
			"10.0.0.10 is master0: delete the other hosts, or reset the whole cluster"},
		{"an edit that adds a member", true,
			func(s *fakeSite, c *clusterfile.Cluster) error {
				_, err := clusterfile.UpdateHosts([]byte(s.expand(editedCluster)), nil, s.ips[1:2], nil)
				return err
			},
			"10.0.0.11 is already a host of the cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeSite(t, 2, fakePayload{})
			c := s.cluster(editedCluster)
			if tt.installed {
				if err := Apply(ctx, c, s.opts()); err != nil {
					t.Fatalf("install: %v", err)
				}
			}
			m, dials := s.mark(), s.dials
			err := tt.run(s, c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if s.dials != dials {
				t.Errorf("%d connections made before refusing", s.dials-dials)
			}
			if evs := s.eventsSince(m, func(e event.Event) bool { return e.Type == event.PhaseStart }); len(evs) > 0 {
				t.Errorf("phases started: %+v", evs)
			}
		})
	}
}
