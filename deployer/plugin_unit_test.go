package deployer

import (
	"context"
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
