package deployer

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh/sshtest"
)

// pluginDocs is unitCluster followed by Plugin documents (name, then the
// spec's lines).
func pluginDocs(plugins ...string) string {
	out := unitCluster
	for i := 0; i+1 < len(plugins); i += 2 {
		out += "---\napiVersion: sealer.io/v1\nkind: Plugin\nmetadata: {name: " + plugins[i] + "}\nspec:\n" + plugins[i+1]
	}
	return out
}

// pluginRuns makes the fake hosts run plugins: a plugin's reply is
// replies[name] (success when absent); HOSTNAME renames the host, which the
// fake kubeadm then names the node by.
func pluginRuns(s *fakeSite, replies map[string]sshtest.Reply) {
	nameRe := regexp.MustCompile(`\A# plugin "([^"]+)"`)
	hostRe := regexp.MustCompile(`\(HOSTNAME\): host name (\S+)`)
	for ip, h := range s.hosts {
		h.Handle(`\A# plugin "`, func(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
			if m := hostRe.FindStringSubmatch(c.Script); m != nil {
				s.mu.Lock()
				s.names[ip] = m[1]
				s.mu.Unlock()
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return replies[nameRe.FindStringSubmatch(c.Script)[1]]
		})
	}
}

// timeline is what host i ran after m that tells the order of plugins and
// phases: each plugin's first line, init-host, kubeadm, the CMD lines.
func timeline(s *fakeSite, m mark, i int) []string {
	var out []string
	for _, c := range s.callsSince(m, i) {
		switch {
		case c.Op != "run":
		case strings.HasPrefix(c.Script, "# plugin "):
			out = append(out, strings.TrimPrefix(strings.TrimSuffix(firstLine(c.Script), " ..."), "# "))
		case strings.Contains(c.Script, "> "+markerPath+"\n"):
			out = append(out, "init-host")
		case strings.HasPrefix(c.Script, "# kubeadm init "), strings.HasPrefix(c.Script, "# kubeadm join "):
			out = append(out, strings.Fields(c.Script)[1]+" "+strings.Fields(c.Script)[2])
		case strings.HasPrefix(c.Script, "cd "+RootfsDir+"\n"):
			out = append(out, "CMD")
		}
	}
	return out
}

// Plugins of one action run in name order, host actions on the hosts of
// their scope (a role, an address list, master0, every host), cluster
// actions on master0, each at its place among the phases.
func TestUnitPluginOrderAndScope(t *testing.T) {
	s := newFakeSite(t, 3, fakePayload{})
	pluginRuns(s, nil)
	c := s.cluster(pluginDocs(
		"z-everyone", "  type: SHELL\n  action: pre-init-host\n  data: echo all\n",
		"a-masters", "  type: SHELL\n  action: PreInit|Originally\n  scope: master\n  data: echo masters\n",
		"m-listed", "  type: SHELL\n  action: post-init-host\n  scope: \"{{2}}\"\n  data: echo listed\n",
		"b-master0", "  type: SHELL\n  action: post-init-host\n  scope: master0\n  data: echo master0\n",
		"k-install", "  type: SHELL\n  action: pre-install|post-install\n  data: kubectl get nodes\n",
	))
	m := s.mark()
	if err := Apply(context.Background(), c, s.opts()); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{`plugin "k-install" (SHELL at pre-install)`, `plugin "a-masters" (SHELL at pre-init-host)`, `plugin "z-everyone" (SHELL at pre-init-host)`, "init-host",
			`plugin "a-masters" (SHELL at post-init-host)`, `plugin "b-master0" (SHELL at post-init-host)`, "kubeadm init", `plugin "k-install" (SHELL at post-install)`, "CMD", "CMD"},
		{`plugin "z-everyone" (SHELL at pre-init-host)`, "init-host", "kubeadm join"},
		{`plugin "z-everyone" (SHELL at pre-init-host)`, "init-host", `plugin "m-listed" (SHELL at post-init-host)`, "kubeadm join"},
	}
	for i := range 3 {
		if got := timeline(s, m, i); !slices.Equal(got, want[i]) {
			t.Errorf("host %d ran\n  %s\nwant\n  %s", i, strings.Join(got, "\n  "), strings.Join(want[i], "\n  "))
		}
	}
	// The install environment, with the plugin's name and action; the
	// kubeconfig for actions on an installed cluster.
	for _, call := range s.callsSince(m, 0) {
		if strings.HasPrefix(call.Script, `# plugin "k-install" (SHELL at post-install)`) {
			if call.Env["SEALPACK_ROLE"] != "master" || call.Env["SEALPACK_CLUSTER"] != "unit" || call.Env["SEALPACK_PLUGIN"] != "k-install" ||
				call.Env["SEALPACK_ACTION"] != "post-install" || call.Env["KUBECONFIG"] != adminConf || !strings.Contains(call.Script, "\nkubectl get nodes\n") {
				t.Errorf("post-install ran with env %v:\n%s", call.Env, call.Script)
			}
		}
	}
	// Output goes to the host's log.
	if !strings.Contains(s.logs(), s.ips[2]+` [host-init] plugin "m-listed" (SHELL at post-init-host): done`) {
		t.Errorf("host 2's log does not show the plugin:\n%s", s.logs())
	}
}

// A failing plugin stops the install with its name, host, exit status and
// error lines, before kubeadm; the re-run resumes at it (what succeeded is
// not run again); a changed plugin runs again, where its scope says.
func TestUnitPluginFailureResumesAndChangeReruns(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{})
	replies := map[string]sshtest.Reply{"b-check": {Exit: 3, Stdout: "checking\n", Stderr: "warning: slow disk\nerror: /dev/vdb is missing\n"}}
	pluginRuns(s, replies)
	cf := pluginDocs(
		"a-ok", "  type: SHELL\n  action: post-init-host\n  data: echo ok\n",
		"b-check", "  type: SHELL\n  action: post-init-host\n  scope: \"{{1}}\"\n  data: test -b /dev/vdb\n",
	)
	m := s.mark()
	err := Apply(ctx, s.cluster(cf), s.opts())
	if err == nil {
		t.Fatal("the install went on past the failing plugin")
	}
	for _, want := range []string{"host-init: host " + s.ips[1] + `: plugin "b-check" (SHELL at post-init-host) failed: exit status 3`, "error: /dev/vdb is missing", s.ips[1] + ".log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for i := range 3 {
		if slices.Contains(timeline(s, m, i), "kubeadm init") {
			t.Errorf("host %d: kubeadm ran after the plugin failed", i)
		}
	}
	fails := s.eventsSince(m, func(e event.Event) bool { return e.Type == event.HostFail })
	if len(fails) != 1 || fails[0].Host != s.ips[1] || !strings.Contains(fails[0].Message, `"b-check"`) {
		t.Errorf("host-fail events %+v", fails)
	}

	delete(replies, "b-check")
	m = s.mark()
	if err := Apply(ctx, s.cluster(cf), s.opts()); err != nil {
		t.Fatal(err)
	}
	ran := func(m mark) [3][]string {
		var out [3][]string
		for i := range 3 {
			for _, l := range timeline(s, m, i) {
				if strings.HasPrefix(l, "plugin ") {
					out[i] = append(out[i], l)
				}
			}
		}
		return out
	}
	if got := ran(m); len(got[0])+len(got[2]) != 0 || !slices.Equal(got[1], []string{`plugin "b-check" (SHELL at post-init-host)`}) {
		t.Errorf("the re-run ran %q; want only b-check on host 1", got)
	}

	m = s.mark()
	if err := Apply(ctx, s.cluster(strings.Replace(cf, "test -b /dev/vdb", "test -b /dev/vdc", 1)), s.opts()); err != nil {
		t.Fatal(err)
	}
	if got := ran(m); len(got[0])+len(got[2]) != 0 || !slices.Equal(got[1], []string{`plugin "b-check" (SHELL at post-init-host)`}) {
		t.Errorf("after changing b-check the run ran %q; want only b-check on host 1", got)
	}
	m = s.mark()
	if err := Apply(ctx, s.cluster(strings.Replace(cf, "test -b /dev/vdb", "test -b /dev/vdc", 1)), s.opts()); err != nil {
		t.Fatal(err)
	}
	if got := ran(m); len(got[0])+len(got[1])+len(got[2]) != 0 {
		t.Errorf("a run with nothing changed ran %q", got)
	}
}

// HOSTNAME names the hosts before anything reads the name (kubeadm names
// the nodes by it); LABEL and TAINT reach the nodes by kubectl once they
// joined, and on join only the new hosts'.
func TestUnitNodePlugins(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{})
	pluginRuns(s, nil)
	cf := pluginDocs(
		"names", "  type: HOSTNAME\n  action: PreInit\n  data: |\n    {{0}} master-0\n    {{1}} node-1\n    {{2}} node-2\n",
		"labels", "  type: LABEL\n  action: PostInstall\n  data: |\n    {{1}} ssd=true,zone=a\n    {{2}} zone=b old-\n",
		"taints", "  type: TAINT\n  data: |\n    {{2}} dedicated=db:NoSchedule,gone:NoExecute-\n",
	)
	// Host 2 joins later.
	m := s.mark()
	if err := Apply(ctx, s.cluster(strings.Replace(cf, unitCluster, twoOfThree, 1)), s.opts()); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"master-0", "node-1"} {
		tl := timeline(s, m, i)
		if len(tl) == 0 || tl[0] != `plugin "names" (HOSTNAME): host name `+name {
			t.Errorf("host %d: the host name was not set first: %q", i, tl)
		}
	}
	var kubectl []string
	for _, c := range s.callsSince(m, 0) {
		if strings.HasPrefix(c.Script, "# plugin ") && strings.Contains(c.Script, "kubectl ") {
			kubectl = append(kubectl, c.Script[strings.Index(c.Script, "kubectl "):])
		}
	}
	want := []string{"kubectl label node 'node-1' 'ssd=true' 'zone=a' --overwrite\n"}
	if !slices.Equal(kubectl, want) {
		t.Errorf("master0 ran %q, want %q (node named by its new host name)", kubectl, want)
	}

	m = s.mark()
	if err := Join(ctx, s.cluster(cf), s.ips[2:], s.opts()); err != nil {
		t.Fatal(err)
	}
	kubectl = nil
	for _, c := range s.callsSince(m, 0) {
		if strings.HasPrefix(c.Script, "# plugin ") && strings.Contains(c.Script, "kubectl ") {
			kubectl = append(kubectl, c.Script[strings.Index(c.Script, "kubectl "):])
		}
	}
	// The node has no label "old" and no taint "gone": nothing to remove.
	want = []string{"kubectl label node 'node-2' 'zone=b' --overwrite\n", "kubectl taint node 'node-2' 'dedicated=db:NoSchedule' --overwrite\n"}
	if !slices.Equal(kubectl, want) {
		t.Errorf("the join ran %q, want %q", kubectl, want)
	}
	if tl := timeline(s, m, 1); len(tl) != 0 {
		t.Errorf("the join ran on host 1: %q", tl)
	}
}

// An EXEC plugin's executable is sent from the installer for the run and
// given the cluster and its host as JSON on stdin, without any password; one
// the installer does not carry is an error before any host is touched.
func TestUnitExecPluginInput(t *testing.T) {
	ctx := context.Background()
	exe := "#!/bin/sh\ncat > /tmp/input.json\n"
	s := newFakeSite(t, 3, fakePayload{files: map[string]string{"plugins/report": exe}})
	pluginRuns(s, nil)
	cf := pluginDocs("report", "  type: EXEC\n  action: post-init-host\n  scope: node\n  data: plugins/report\n")
	cf = strings.Replace(cf, "roles: [node]\n", "roles: [node]\n    env: [DISK=/dev/vdb]\n", 1)
	m := s.mark()
	if err := Apply(ctx, s.cluster(cf), s.opts()); err != nil {
		t.Fatal(err)
	}
	heredoc := regexp.MustCompile(`(?s)\n'(/var/lib/sealpack/plugins/report\.[0-9a-f]+)' <<'(SEALPACK_JSON_[0-9a-f]+)'\n(.*?)\n(SEALPACK_JSON_[0-9a-f]+)\n`)
	for i := range 3 {
		var script string
		var wrote []sshtest.Call
		for _, c := range s.callsSince(m, i) {
			if c.Op == "run" && strings.HasPrefix(c.Script, `# plugin "report"`) {
				script = c.Script
			}
			if c.Op == "write" && strings.HasPrefix(c.Path, stateDir+"/plugins/report.") {
				wrote = append(wrote, c)
			}
		}
		if i == 0 {
			if script != "" || len(wrote) > 0 {
				t.Errorf("master0 is not in the scope, yet ran the plugin")
			}
			continue
		}
		hm := heredoc.FindStringSubmatch(script)
		if hm == nil || hm[2] != hm[4] {
			t.Fatalf("host %d: no JSON given on stdin:\n%s", i, script)
		}
		if len(wrote) != 1 || string(wrote[0].Data) != exe || wrote[0].Mode != 0o700 || wrote[0].Path != hm[1]+partSuffix {
			t.Errorf("host %d: the executable was sent as %+v", i, wrote)
		}
		if !strings.Contains(script, "\nrm -f '"+hm[1]+"'") {
			t.Errorf("host %d: the executable's copy is not removed:\n%s", i, script)
		}
		var in PluginInput
		if err := json.Unmarshal([]byte(hm[3]), &in); err != nil {
			t.Fatalf("host %d: %v\n%s", i, err, hm[3])
		}
		if in.Version != 1 || in.Plugin != "report" || in.Action != "post-init-host" || in.Cluster.Name != "unit" || in.Cluster.Master0 != s.ips[0] ||
			!slices.Equal(in.Cluster.Masters, s.ips[:1]) || !slices.Equal(in.Cluster.Nodes, s.ips[1:]) || in.Cluster.Rootfs != RootfsDir ||
			in.Host.IP != s.ips[i] || in.Host.Role != "node" || !slices.Equal(in.Host.Roles, []string{"node"}) || in.Host.Env["DISK"] != "/dev/vdb" ||
			in.Host.Env["SEALPACK_ROLE"] != "node" {
			t.Errorf("host %d: stdin %s", i, hm[3])
		}
		if strings.Contains(script, "root-password") {
			t.Errorf("host %d: the password reached the plugin", i)
		}
	}

	s = newFakeSite(t, 3, fakePayload{})
	err := Apply(ctx, s.cluster(cf), s.opts())
	if err == nil || !strings.Contains(err.Error(), `plugin "report": plugins/report is not a file of this installer's rootfs`) {
		t.Fatalf("error %v", err)
	}
	for i := range 3 {
		if n := len(s.host(i).Calls()); n != 0 {
			t.Errorf("host %d: %d operations for an installer without the plugin", i, n)
		}
	}
}

// Preflight checks the names the hosts will have: two hosts of one name
// pass when a HOSTNAME plugin renames one; a plugin that would rename a host
// that already joined fails, as does a new name that another host has.
func TestUnitPreflightHostnames(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, plugin string
		want         string // part of the error; "" for success
	}{
		{"clash", "", `hostname "same" is also used by`},
		{"renamed", "{{1}} node-1", ""},
		{"renamed to a taken name", "{{1}} host-2", `hostname "host-2" is also used by`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeSite(t, 3, fakePayload{})
			pluginRuns(s, nil)
			s.names[s.ips[0]], s.names[s.ips[1]] = "same", "same"
			cf := unitCluster
			if tt.plugin != "" {
				cf = pluginDocs("names", "  type: HOSTNAME\n  data: |\n    "+tt.plugin+"\n")
			}
			opts := s.opts()
			opts.DryRun = true
			err := Apply(ctx, s.cluster(cf), opts)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}

	s := newFakeSite(t, 3, fakePayload{})
	pluginRuns(s, nil)
	if err := Apply(ctx, s.cluster(unitCluster), s.opts()); err != nil {
		t.Fatal(err)
	}
	m := s.mark()
	err := Apply(ctx, s.cluster(pluginDocs("names", "  type: HOSTNAME\n  data: {{1}} renamed\n")), s.opts())
	if err == nil || !strings.Contains(err.Error(), "a HOSTNAME plugin names it renamed, but it joined the cluster as host-1") {
		t.Errorf("renaming a node: %v", err)
	}
	if tl := timeline(s, m, 1); len(tl) != 0 {
		t.Errorf("host 1 changed: %q", tl)
	}
}

// The plan (--dry-run) says which plugins would run where and when, and
// leaves out what is done; reset runs pre-clean-host and post-clean-host
// around each host's cleanup.
func TestUnitPluginPlanAndClean(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 3, fakePayload{files: map[string]string{"plugins/report": "#!/bin/sh\n"}})
	pluginRuns(s, nil)
	c := s.cluster(pluginDocs(
		"check", "  type: SHELL\n  action: pre-init-host|pre-clean-host\n  scope: node\n  data: echo check\n",
		"names", "  type: HOSTNAME\n  data: \"{{0}} master-0\"\n",
		"report", "  type: EXEC\n  action: post-install|post-clean-host\n  data: report\n",
		"zone", "  type: LABEL\n  data: \"{{1}} zone=a\"\n",
	))
	opts := s.opts()
	opts.DryRun = true
	m := s.mark()
	if err := Apply(ctx, c, opts); err != nil {
		t.Fatal(err)
	}
	var plan []string
	for _, e := range s.eventsSince(m, func(e event.Event) bool { return e.Type == event.Plan && strings.Contains(e.Message, "plugin ") }) {
		plan = append(plan, e.Phase+" "+e.Message)
	}
	want := []string{
		"host-init " + s.ips[0] + `: plugin "names" (HOSTNAME): host name master-0`,
		"host-init " + s.ips[1] + `: plugin "check" (SHELL at pre-init-host)`,
		"host-init " + s.ips[2] + `: plugin "check" (SHELL at pre-init-host)`,
		"join-nodes " + s.ips[0] + `: plugin "zone" (LABEL): kubectl label 'zone=a' on its node`,
		"join-nodes " + s.ips[0] + `: plugin "report" (EXEC plugins/report at post-install)`,
	}
	if !slices.Equal(plan, want) {
		t.Errorf("plan\n  %s\nwant\n  %s", strings.Join(plan, "\n  "), strings.Join(want, "\n  "))
	}
	if err := Apply(ctx, c, s.opts()); err != nil {
		t.Fatal(err)
	}
	m = s.mark()
	if err := Reset(ctx, c, s.opts()); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{{"clean", `plugin "report" (EXEC plugins/report at post-clean-host)`}, {`plugin "check" (SHELL at pre-clean-host)`, "clean", `plugin "report" (EXEC plugins/report at post-clean-host)`}} {
		var got []string
		for _, c := range s.callsSince(m, i) {
			switch {
			case c.Op != "run":
			case strings.HasPrefix(c.Script, "# plugin "):
				got = append(got, strings.TrimSuffix(strings.TrimPrefix(firstLine(c.Script), "# "), " ..."))
			case strings.Contains(c.Script, "kubeadm reset -f"):
				got = append(got, "clean")
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("host %d: reset ran %q, want %q", i, got, want)
		}
	}
	if steps := s.steps(); len(steps) != 0 {
		t.Errorf("reset left records %q", steps)
	}
}
