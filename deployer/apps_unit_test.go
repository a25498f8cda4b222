package deployer

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// twoAppsPayload carries apps web and db (db first by default) beside a
// CMD line.
func twoAppsPayload(webYAML string) fakePayload {
	return fakePayload{
		cmds: []string{"kubectl apply -f manifests/"},
		files: map[string]string{
			"application/apps/web/web.yaml": webYAML,
			"application/apps/db/db.yaml":   "kind: ConfigMap\nmetadata: {name: db}\n",
		},
		apps: []payload.App{
			{Name: "web", Kind: payload.AppManifests, Prefix: "application/apps/web/", Launch: []string{"kubectl apply -f application/apps/web/web.yaml"}},
			{Name: "db", Kind: payload.AppManifests, Prefix: "application/apps/db/", Launch: []string{"kubectl apply -f application/apps/db/db.yaml", "sh -c 'echo db ready'"}},
		},
		launch: []string{"db", "web"},
	}
}

const webV1 = "kind: ConfigMap\nmetadata: {name: web}\n"

// appScripts are the apps phase's commands that host 0 ran after m.
func (s *fakeSite) appScripts(m mark) []string {
	var out []string
	for _, c := range s.callsSince(m, 0) {
		if first, rest, ok := strings.Cut(c.Script, "\n"); c.Op == "run" && ok && first == "cd "+RootfsDir {
			out = append(out, rest)
		}
	}
	return out
}

// TestUnitAppsChosen: master0 runs the CMD lines, then the launches of the
// apps spec.appNames chooses, in its order (the installer's LAUNCH list
// without it); a re-run runs none again, and an installer whose app changed
// runs that app's launch only.
func TestUnitAppsChosen(t *testing.T) {
	ctx := context.Background()
	cmd := "kubectl apply -f manifests/"
	web := "kubectl apply -f application/apps/web/web.yaml"
	db := []string{"kubectl apply -f application/apps/db/db.yaml", "sh -c 'echo db ready'"}
	cases := []struct {
		name, appNames string
		want           []string
	}{
		{"default", "", append(append([]string{cmd}, db...), web)},
		{"one of two", "  appNames: [web]\n", []string{cmd, web}},
		{"in the file's order", "  appNames: [web, db]\n", append([]string{cmd, web}, db...)},
		{"none", "  appNames: []\n", []string{cmd}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFakeSite(t, 1, twoAppsPayload(webV1))
			cf := strings.Replace(unitCluster, "[{{1}}, {{2}}]", "[]", 1)
			cf = strings.Replace(cf, "  - ips: []\n    roles: [node]\n", "", 1) + c.appNames
			m := s.mark()
			if err := Apply(ctx, s.cluster(cf), s.opts()); err != nil {
				t.Fatal(err)
			}
			if got := s.appScripts(m); !reflect.DeepEqual(got, c.want) {
				t.Errorf("master0 ran\n%q\nwant\n%q", got, c.want)
			}
			m = s.mark()
			if err := Apply(ctx, s.cluster(cf), s.opts()); err != nil {
				t.Fatal(err)
			}
			if got := s.appScripts(m); len(got) > 0 {
				t.Errorf("the re-run ran %q again", got)
			}
			if c.name != "default" {
				return
			}
			// A new installer whose web app changed: web's launch runs again, alone.
			s.p = newFakePayload(t, twoAppsPayload(webV1+"data: {v: '2'}\n"))
			m = s.mark()
			if err := Apply(ctx, s.cluster(cf), s.opts()); err != nil {
				t.Fatal(err)
			}
			if got := s.appScripts(m); !reflect.DeepEqual(got, []string{web}) {
				t.Errorf("after web changed, master0 ran %q, want only %q", got, web)
			}
		})
	}
}

// TestUnitAppsUnknown: a name in spec.appNames that the installer does not
// carry is refused, naming the field's line and the carried apps, before
// any host is connected to.
func TestUnitAppsUnknown(t *testing.T) {
	s := newFakeSite(t, 3, twoAppsPayload(webV1))
	err := Apply(context.Background(), s.cluster(unitCluster+"  appNames: [web, wbe]\n"), s.opts())
	want := `Clusterfile:11: spec.appNames: this installer has no app "wbe" (it carries web, db)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if s.dials != 0 {
		t.Errorf("%d connections to hosts before the refusal", s.dials)
	}
	for i := range s.ips {
		if calls := s.host(i).Calls(); len(calls) > 0 {
			t.Errorf("host %d: %d calls, the first %+v", i, len(calls), calls[0])
		}
	}
}
