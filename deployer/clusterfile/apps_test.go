package clusterfile

import (
	"reflect"
	"strings"
	"testing"
)

const appsCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: c}
spec:
  hosts:
  - {ips: [10.0.0.1], roles: [master]}
`

// TestAppNames: spec.appNames (sealer's field) chooses the apps, in order;
// absent is nil (the installer's default), [] is none; the wizard's file
// keeps it.
func TestAppNames(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"absent", "", nil},
		{"list", "  appNames: [db, web]\n", []string{"db", "web"}},
		{"block list", "  appNames:\n  - web\n  - db\n", []string{"web", "db"}},
		{"empty", "  appNames: []\n", []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, warns, err := Parse("Clusterfile", []byte(appsCluster+c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) > 0 {
				t.Errorf("warnings %v: appNames is implemented", warns)
			}
			if !reflect.DeepEqual(cl.AppNames, c.want) {
				t.Errorf("AppNames %#v, want %#v", cl.AppNames, c.want)
			}
			if c.want != nil && cl.AppNamesAt != "Clusterfile:7: " {
				t.Errorf("AppNamesAt %q, want Clusterfile:7", cl.AppNamesAt)
			}
			data, err := Marshal(cl, MarshalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			again, _, err := Parse("again", data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			if !reflect.DeepEqual(again.AppNames, c.want) {
				t.Errorf("written and read again: %#v, want %#v\n%s", again.AppNames, c.want, data)
			}
		})
	}
	errs := []struct{ name, yaml, want string }{
		{"twice", "  appNames: [web, db, web]\n", "Clusterfile:7: spec.appNames[2]: app web is named twice (first at line 7)"},
		{"empty name", "  appNames:\n  - web\n  - ''\n", "Clusterfile:9: spec.appNames[1]: empty app name"},
		{"not a list", "  appNames: web\n", "Clusterfile:7: spec.appNames: "},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("Clusterfile", []byte(appsCluster+c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v\nwant %q", err, c.want)
			}
		})
	}
}
