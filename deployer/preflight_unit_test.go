package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh"
)

// Preflight checks every host and reports every problem of every host in
// one error, then stops: nothing is written anywhere, not even on the hosts
// that passed.
func TestUnitPreflightReportsEveryHost(t *testing.T) {
	type problem struct {
		host         int
		check, words string
	}
	tests := []struct {
		name     string
		facts    map[string]string // what the host says of itself
		dialErr  error
		problems []problem
	}{
		{name: "small master", facts: map[string]string{"cpus": "1", "mem_kb": "1000000"},
			problems: []problem{{0, "cpu", "1 CPU(s), a master needs at least 2"}, {0, "memory", "976 MiB, a master needs at least 1700 MiB"}}},
		{name: "swap and a busy port", facts: map[string]string{"swap": "1", "listen": "00000000:280A"},
			problems: []problem{{1, "swap", "swap is on"}, {1, "ports", "in use by another program: 10250"}}},
		{name: "other platform and clock", facts: map[string]string{"arch": "aarch64", "time": "1000000000"},
			problems: []problem{{2, "platform", "host is linux/arm64, this installer is for linux/amd64"}, {2, "clock", "clock differs from the jump host's"}}},
		{name: "twin a", facts: map[string]string{"hostname": "twin"},
			problems: []problem{{3, "hostname", `hostname "twin" is also used by 10.0.0.14`}}},
		{name: "twin b", facts: map[string]string{"hostname": "twin"},
			problems: []problem{{4, "hostname", `hostname "twin" is also used by 10.0.0.13`}}},
		{name: "unreachable", dialErr: errors.New("dial tcp 10.0.0.15:22: connect: connection refused"),
			problems: []problem{{5, "connect", "connection refused"}}},
		{name: "unknown key", dialErr: &ssh.HostKeyError{Host: "10.0.0.16", Offered: "SHA256:abc", SiteFile: "known_hosts"},
			problems: []problem{{6, "hostkey", "SHA256:abc: pass --accept-new-host-keys"}}},
		{name: "no sudo", facts: map[string]string{"exit": "1", "stderr": "sudo: a password is required"},
			problems: []problem{{7, "sudo", "cannot run commands as root: host 10.0.0.17: \"set +e ...\": exit status 1: sudo: a password is required"}}},
		{name: "full disk", facts: map[string]string{"disk_kb": "0"},
			problems: []problem{{8, "disk", "0 B free under /var/lib"}}},
		{name: "good"},
	}
	s := newFakeSite(t, len(tests), fakePayload{})
	var want []problem
	var groups []string
	for i, tt := range tests {
		s.facts[s.ips[i]] = tt.facts
		if tt.dialErr != nil {
			s.dialErr[s.ips[i]] = tt.dialErr
		}
		want = append(want, tt.problems...)
		role := "node"
		if i == 0 {
			role = "master"
		}
		groups = append(groups, fmt.Sprintf("  - ips: [{{%d}}]\n    roles: [%s]\n", i, role))
	}
	c := s.cluster("apiVersion: sealer.cloud/v2\nkind: Cluster\nmetadata: {name: unit}\nspec:\n  ssh: {passwd: x}\n  hosts:\n" + strings.Join(groups, ""))
	m := s.mark()
	err := Apply(context.Background(), c, s.opts())
	if err == nil {
		t.Fatal("preflight passed")
	}
	msg := err.Error()
	if head := fmt.Sprintf("preflight: %d problem(s), nothing was changed on any host:\n", len(want)); !strings.HasPrefix(msg, head) {
		t.Errorf("error begins %q, want %q", strings.SplitN(msg, "\n", 2)[0], head)
	}
	var failed []string
	for _, e := range s.eventsSince(m, func(e event.Event) bool { return e.Type == event.Check && e.Status == event.Fail }) {
		failed = append(failed, e.Host+" "+e.Check)
	}
	for _, p := range want {
		ip := s.ips[p.host]
		line := fmt.Sprintf("host %s: %s: ", ip, p.check)
		if !strings.Contains(msg, line) || !strings.Contains(msg[strings.Index(msg, line):], p.words) {
			t.Errorf("the report lacks %s%s:\n%s", line, p.words, msg)
		}
		if !slices.Contains(failed, ip+" "+p.check) {
			t.Errorf("no failed check event for %s %s", ip, p.check)
		}
	}
	if len(failed) != len(want) {
		t.Errorf("failed checks %s, want %d", joinNames(failed), len(want))
	}
	// The good host passed every check, and was left alone like the others.
	good := s.ips[len(tests)-1]
	for _, e := range s.eventsSince(m, func(e event.Event) bool { return e.Type == event.Check && e.Host == good }) {
		if e.Status != event.OK {
			t.Errorf("the good host failed %s: %s", e.Check, e.Message)
		}
	}
	for i := range tests {
		if w := s.writesSince(m, i); len(w) > 0 {
			t.Errorf("host %d was written although preflight failed: %q", i, w)
		}
		if got := s.scriptsSince(m, i); len(got) > 1 {
			t.Errorf("host %d ran %q although preflight failed", i, got)
		}
	}
	if steps := s.steps(); len(steps) > 0 {
		t.Errorf("steps recorded although preflight failed: %q", steps)
	}
	order, _ := phaseOrder(s.eventsSince(m, nil))
	if !slices.Equal(order, []string{event.Preflight}) {
		t.Errorf("phases run: %q, want preflight alone", order)
	}
}

// A host that carries this cluster already (its marker, written by
// host-init) may have Kubernetes' ports in use; one that carries another
// program there may not.
func TestUnitPreflightPortsOfThisCluster(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 2, fakePayload{})
	c := s.cluster(twoOfThree)
	s.facts[s.ips[1]] = map[string]string{"listen": "00000000:280A", "marker": "unit"}
	s.facts[s.ips[0]] = map[string]string{"listen": "00000000:192B", "marker": "other"}
	m := s.mark()
	err := Preflight(ctx, c, s.opts())
	if err == nil || !strings.Contains(err.Error(), "host 10.0.0.10: ports: in use by another program: 6443") || strings.Contains(err.Error(), "10.0.0.11") {
		t.Errorf("preflight: %v; want the master's port refused and the node's accepted", err)
	}
	ports := s.eventsSince(m, func(e event.Event) bool { return e.Check == "ports" && e.Host == s.ips[1] })
	if len(ports) != 1 || ports[0].Status != event.OK || !strings.Contains(ports[0].Message, "in use by this cluster") {
		t.Errorf("the node's ports check: %+v", ports)
	}
}
