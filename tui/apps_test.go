package tui

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/payload"
)

// appsInfo is testInfo with three apps, db and web launched by default.
func appsInfo() *payload.Report {
	info := testInfo()
	info.Apps = []payload.ReportApp{
		{Name: "web", Kind: "manifests", Size: 12 << 10, Default: true, Order: 2},
		{Name: "db", Kind: "helm", Size: 3 << 20, Default: true, Order: 1},
		{Name: "extra", Kind: "shell", Size: 200},
	}
	info.Launch = []string{"db", "web"}
	return info
}

// TestApps: with several apps the wizard shows them after the welcome,
// the default ones chosen in LAUNCH's order; space deselects and selects,
// and the choice, in the order chosen, is the Clusterfile's spec.appNames.
func TestApps(t *testing.T) {
	eng := &fakeEngine{install: func(context.Context, *clusterfile.Cluster, *emitter) error { return nil }}
	save := t.TempDir() + "/Clusterfile"
	w := startWizard(t, Options{Info: appsInfo(), AlreadyVerified: true, Engine: eng, SavePath: save})
	w.waitText("Welcome")
	w.enter()
	t.Run("defaults", func(t *testing.T) {
		w.golden(t, w.waitText("step 2 of 8"))
	})
	w.typ(" ")         // web off
	w.key(tea.KeyDown) // db
	w.key(tea.KeyDown) // extra
	w.typ(" ")         // extra on, after db
	t.Run("chosen", func(t *testing.T) {
		w.golden(t, w.waitText("[x] 2.  extra"))
	})
	w.enter()
	w.waitText("step 3 of 8")
	w.key(tea.KeyEsc)
	w.waitText("[x] 2.  extra") // back keeps the choice
	w.enter()
	w.waitText("Machines")
	w.typ("10.0.0.11")
	w.enter()
	w.waitText("10.0.0.11")
	w.enter()
	w.waitText("SSH login")
	w.enter()
	w.enter()
	w.typ("s3cret")
	w.enter()
	w.enter()
	w.enter()
	w.waitText("all hosts passed")
	w.enter()
	w.waitText("Review")
	w.enter()
	w.waitText("Done")
	data, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := clusterfile.Parse(save, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.AppNames, []string{"db", "extra"}) {
		t.Errorf("the saved Clusterfile's appNames %q, want [db extra]:\n%s", c.AppNames, data)
	}
}

// TestAppsFromClusterfile: the Clusterfile's spec.appNames is the starting
// choice; with one app or none there is no screen and no appNames.
func TestAppsFromClusterfile(t *testing.T) {
	initial := parseInitial(t)
	initial.AppNames = []string{"extra"}
	a := newAppsScreen(&env{opts: &Options{Info: appsInfo()}}, initial)
	if !reflect.DeepEqual(a.names(), []string{"extra"}) {
		t.Errorf("chosen %q, want the file's [extra]", a.names())
	}
	one := testInfo()
	one.Apps = []payload.ReportApp{{Name: "web", Default: true, Order: 1}}
	w := startWizard(t, Options{Info: one, AlreadyVerified: true})
	w.waitText("Welcome")
	w.enter()
	frame := w.waitText("Machines")
	if !strings.Contains(frame, "step 2 of 7") || w.m.apps != nil {
		t.Errorf("one app, yet an apps screen:\n%s", frame)
	}
}
