package deployer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/internal/fakek8stest"
)

// TestPluginsOnRealHosts: on a master and two nodes over real sshd with the
// fake Kubernetes, a SHELL plugin leaves its marker on exactly the hosts of
// its scope, HOSTNAME names the hosts (and so the nodes), LABEL and TAINT
// reach the nodes through kubectl, and an executable of the rootfs's
// plugins/ reads the cluster and its host as JSON on stdin.
func TestPluginsOnRealHosts(t *testing.T) {
	needHosts(t)
	p := testPayloadWith(t, payloadSpec{files: map[string][]byte{
		"plugins/report": []byte("#!/bin/sh\nset -e\ncat > /etc/sealpack-test-input.json\n"),
	}})
	s := newSiteWith(t, 3, p)
	ctx := context.Background()
	c := s.cluster(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: plugged}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [{{0}}]
    roles: [master]
  - ips: [{{1}}, {{2}}]
    roles: [node]
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: marker}
spec:
  type: SHELL
  action: post-init-host
  scope: master|{{2}}
  data: |
    echo "$SEALPACK_PLUGIN $SEALPACK_ROLE $(hostname)" > /etc/sealpack-test-marker
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: MyHostname}
spec:
  type: HOSTNAME
  action: PreInit
  data: |
    {{0}} master-0
    {{1}} worker-1
    {{2}} worker-2
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: zones}
spec:
  type: LABEL
  data: |
    {{1}} ssd=true,zone=a
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: dedicated}
spec:
  type: TAINT
  data: |
    {{2}} dedicated=db:NoSchedule
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: report}
spec:
  type: EXEC
  action: post-init-host
  scope: node
  data: plugins/report
`)
	if err := deployer.Apply(ctx, c, s.opts()); err != nil {
		t.Fatalf("install: %v", err)
	}
	ip := func(i int) string { return s.w.Hosts[i].IP }
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", "logs", ip(0)+".log"))
			t.Logf("host 0's log:\n%s", b)
		}
	}()
	names := []string{"master-0", "worker-1", "worker-2"}
	for i, h := range s.w.Hosts {
		out, _ := h.Exec(ctx, "cat /etc/sealpack-test-marker 2>/dev/null; echo; hostname")
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		marker, hostname := strings.TrimSpace(strings.Join(lines[:len(lines)-1], "")), lines[len(lines)-1]
		role := map[bool]string{true: "master", false: "node"}[i == 0]
		switch want := "marker " + role + " " + names[i]; {
		case i == 1 && marker != "":
			t.Errorf("host 1 is not in the marker's scope, yet has %q", marker)
		case i != 1 && marker != want:
			t.Errorf("host %d: marker %q, want %q", i, marker, want)
		}
		if hostname != names[i] {
			t.Errorf("host %d: hostname %q, want %s", i, hostname, names[i])
		}
	}
	nodes := s.nodes(0)
	for i := range 3 {
		if got := nodes[ip(i)].Metadata.Name; got != names[i] {
			t.Errorf("host %d: node %q, want %s (named by the new host name)", i, got, names[i])
		}
	}
	if l := nodes[ip(1)].Metadata.Labels; l["ssd"] != "true" || l["zone"] != "a" {
		t.Errorf("node 1 labels %v", l)
	}
	if _, ok := nodes[ip(2)].Metadata.Labels["zone"]; ok {
		t.Errorf("node 2 got node 1's labels")
	}
	taints := nodes[ip(2)].Spec.Taints
	if !slices.ContainsFunc(taints, func(x struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Effect string `json:"effect"`
	}) bool {
		return x.Key == "dedicated" && x.Value == "db" && x.Effect == "NoSchedule"
	}) {
		t.Errorf("node 2 taints %+v", taints)
	}
	// The fake records the host name it ran under: master0's new one (so
	// not s.allCalls, which keeps the calls under the test host's name).
	calls, err := fakek8stest.ParseCalls(strings.NewReader(s.calls(0)))
	if err != nil {
		t.Fatal(err)
	}
	var kubectl []string
	for _, call := range calls {
		if call.Host == names[0] && call.Command == "kubectl" && len(call.Argv) > 1 && (call.Argv[1] == "label" || call.Argv[1] == "taint") {
			kubectl = append(kubectl, call.Line())
		}
	}
	for _, want := range []string{"kubectl label node worker-1 ssd=true zone=a --overwrite", "kubectl taint node worker-2 dedicated=db:NoSchedule --overwrite"} {
		if !slices.Contains(kubectl, want) {
			t.Errorf("the fake kubectl recorded %q, not %q", kubectl, want)
		}
	}
	for i, h := range s.w.Hosts {
		out, err := h.Exec(ctx, "cat /etc/sealpack-test-input.json; ls /var/lib/sealpack/plugins 2>&1")
		if i == 0 {
			if err == nil {
				t.Errorf("master0 is not in the EXEC plugin's scope, yet read %s", out)
			}
			continue
		}
		text, rest, _ := strings.Cut(string(out), "\n")
		var in deployer.PluginInput
		if err := json.Unmarshal([]byte(text), &in); err != nil {
			t.Fatalf("host %d: the plugin read %q: %v", i, out, err)
		}
		if in.Cluster.Name != "plugged" || in.Host.IP != ip(i) || in.Host.Role != "node" || in.Host.Hostname != names[i] ||
			!slices.Equal(in.Cluster.Nodes, []string{ip(1), ip(2)}) || in.Cluster.Master0 != ip(0) || strings.Contains(text, `"sealpack"`) {
			t.Errorf("host %d: the plugin read %s", i, text)
		}
		if !strings.Contains(rest, "No such file") {
			t.Errorf("host %d: the plugin's copy was left behind: %s", i, rest)
		}
	}
}
