package deployer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/event"
)

// TestDryRunChangesNothing: a dry run connects and runs preflight, reports
// a plan for every phase, and changes nothing on any host.
func TestDryRunChangesNothing(t *testing.T) {
	s := newSite(t, 3)
	ctx := context.Background()
	var before []fsState
	for _, h := range s.w.Hosts {
		before = append(before, snapshot(t, h))
	}
	c := s.cluster(passwordCluster)
	opts := s.opts()
	opts.DryRun = true
	if err := deployer.Apply(ctx, c, opts); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	for i, h := range s.w.Hosts {
		if changed := changes(before[i], snapshot(t, h)); len(changed) > 0 {
			t.Errorf("host %d was changed by a dry run: %s", i, strings.Join(changed, " "))
		}
	}
	plans := map[string][]string{}
	for _, e := range s.eventsOf(func(e event.Event) bool { return e.Type == event.Plan }) {
		plans[e.Phase] = append(plans[e.Phase], e.Message)
	}
	for _, phase := range event.InstallPhases {
		if len(plans[phase]) == 0 {
			t.Errorf("no plan for phase %s", phase)
		}
	}
	// The plan names what would change where.
	for _, want := range []struct{ phase, text string }{
		{event.Distribute, s.w.Hosts[1].IP + ": copy "},
		{event.InitMaster0, s.w.Hosts[0].IP + ": kubeadm init"},
		{event.JoinNodes, s.w.Hosts[2].IP + ": kubeadm join"},
		{event.JoinMasters, "nothing to do"},
		{event.Apps, "kubectl apply -f manifests/"},
	} {
		if !strings.Contains(strings.Join(plans[want.phase], "\n"), want.text) {
			t.Errorf("plan of %s is %q, want it to mention %q", want.phase, plans[want.phase], want.text)
		}
	}
	// Preflight ran for real: every host was checked.
	for _, h := range s.w.Hosts {
		if len(s.eventsOf(func(e event.Event) bool { return e.Type == event.Check && e.Host == h.IP && e.Check == "ports" })) == 0 {
			t.Errorf("host %s was not checked", h.IP)
		}
	}
	if st, err := deployer.LoadState(opts.StateDir, "e2e"); err != nil || len(st.Steps()) > 0 {
		t.Errorf("a dry run recorded steps: %v %v", st.Steps(), err)
	}
}

// TestLabelsTaintsRolesAndEnv: the Clusterfile's labels, taints and extra
// roles arrive on the nodes, and the install environment (SEALPACK_*, the
// Kubefile's ENV, the Clusterfile's env with group overrides) reaches
// scripts/init-host.sh and the CMD lines.
func TestLabelsTaintsRolesAndEnv(t *testing.T) {
	needHosts(t)
	const dump = "env | grep -E '^(SEALPACK_|GREETING|SHARED|DISK|IMAGE_ONLY|KUBECONFIG)' | sort > "
	p := testPayloadWith(t, payloadSpec{
		files: map[string][]byte{"scripts/init-host.sh": []byte("#!/bin/sh\nset -e\necho 1 > /proc/sys/net/ipv4/ip_forward\n" + dump + "/var/lib/sealpack/init-host.env\n")},
		cmds:  []string{dump + "/var/lib/sealpack/cmd.env", "kubectl apply -f manifests/"},
		env:   []string{"IMAGE_ONLY=from the Kubefile", "SHARED=image"},
	})
	s := newSiteWith(t, 3, p)
	ctx := context.Background()
	c := s.cluster(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: labelled}
spec:
  ssh: {passwd: sealpack}
  env: [GREETING=hello world, SHARED=cluster]
  hosts:
  - ips: [{{0}}]
    roles: [master]
    taints: ["node-role.kubernetes.io/control-plane:NoSchedule-"]
  - ips: [{{1}}, {{2}}]
    roles: [node, db]
    env: [SHARED=group, DISK=/dev/vdb]
    labels: {disk: ssd, example.com/tier: gold}
    taints: ["dedicated=db:NoSchedule"]
`)
	opts := s.opts()
	opts.RegistryPort = 5000
	if err := deployer.Apply(ctx, c, opts); err != nil {
		t.Fatalf("install: %v", err)
	}
	ip := func(i int) string { return s.w.Hosts[i].IP }

	nodes := s.nodes(0)
	for i := 1; i < 3; i++ {
		n := nodes[ip(i)]
		for k, v := range map[string]string{"disk": "ssd", "example.com/tier": "gold", "node-role.kubernetes.io/db": ""} {
			if got, ok := n.Metadata.Labels[k]; !ok || got != v {
				t.Errorf("node %d: label %s=%q, want %q (labels %v)", i, k, got, v, n.Metadata.Labels)
			}
		}
		found := false
		for _, tt := range n.Spec.Taints {
			found = found || tt.Key == "dedicated" && tt.Value == "db" && tt.Effect == "NoSchedule"
		}
		if !found {
			t.Errorf("node %d: taints %+v, want dedicated=db:NoSchedule", i, n.Spec.Taints)
		}
	}
	m := nodes[ip(0)]
	if len(m.Spec.Taints) != 0 {
		t.Errorf("master0 keeps taints %+v; the Clusterfile removed the control-plane one", m.Spec.Taints)
	}
	if _, ok := m.Metadata.Labels["node-role.kubernetes.io/db"]; ok {
		t.Error("master0 got the db role of the other group")
	}

	common := func(role string, i int) []string {
		return []string{
			"SEALPACK_CLUSTER=labelled", "SEALPACK_MASTER0=" + ip(0), "SEALPACK_MASTERS=" + ip(0),
			"SEALPACK_NODES=" + ip(1) + "," + ip(2), "SEALPACK_REGISTRY=127.0.0.1:5000", // forwarded over SSH
			"SEALPACK_ROLE=" + role, "SEALPACK_ROOTFS=" + deployer.RootfsDir,
			"GREETING=hello world", "IMAGE_ONLY=from the Kubefile",
		}
	}
	want := map[string][]string{
		"0:init-host.env": append(common("master", 0), "SHARED=cluster"),
		"1:init-host.env": append(common("node", 1), "SHARED=group", "DISK=/dev/vdb"),
		"2:init-host.env": append(common("node", 2), "SHARED=group", "DISK=/dev/vdb"),
		"0:cmd.env":       append(common("master", 0), "SHARED=cluster", "KUBECONFIG=/etc/kubernetes/admin.conf"),
	}
	for key, lines := range want {
		host, file, _ := strings.Cut(key, ":")
		i := int(host[0] - '0')
		out, err := s.w.Hosts[i].Exec(ctx, "cat /var/lib/sealpack/"+file)
		if err != nil {
			t.Errorf("host %d: %v", i, err)
			continue
		}
		got := strings.Split(strings.TrimSpace(string(out)), "\n")
		for _, l := range lines {
			if !contains(got, l) {
				t.Errorf("host %d: %s lacks %q:\n%s", i, file, l, out)
			}
		}
		if i != 0 && contains(got, "SHARED=cluster") || contains(got, "SHARED=image") {
			t.Errorf("host %d: %s: a value was not overridden:\n%s", i, file, out)
		}
	}
	// kubectl, run by a CMD line, saw the same environment.
	for _, call := range s.allCalls(0) {
		if call.Command == "kubectl" && len(call.Argv) > 1 && call.Argv[1] == "apply" {
			if call.Env["SEALPACK_ROLE"] != "master" || call.Env["SEALPACK_CLUSTER"] != "labelled" || call.Cwd != deployer.RootfsDir {
				t.Errorf("kubectl apply ran with env %v in %s", call.Env, call.Cwd)
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", deployer.AdminConfName)); len(b) == 0 {
		t.Error("no kubeconfig saved")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
