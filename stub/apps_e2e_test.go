package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/payload"
)

// appsInstaller carries the fake Kubernetes and two apps, web and db, each
// a manifest; LAUNCH's default is db, then web.
func appsInstaller(t *testing.T, dir string) {
	t.Helper()
	bin, err := fakeK8sOnce()
	if err != nil {
		t.Fatalf("building the fake kubernetes: %v", err)
	}
	fake, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	files := entries(fakek8stest.Rootfs(fake))
	files["application/apps/web/web.yaml"] = bytesEntry("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
	files["application/apps/db/db.yaml"] = bytesEntry("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db}\ndata: {size: large}\n")
	writeInstaller(t, filepath.Join(dir, "app-installer.run"), installerSpec{
		files:  files,
		labels: map[string]string{payload.LabelTitle: productName, payload.LabelVersion: productVer},
		cmds:   []string{"kubectl get nodes"},
		apps: []payload.App{
			{Name: "web", Kind: payload.AppManifests, Prefix: "application/apps/web/", Size: 51, Launch: []string{"kubectl apply -f application/apps/web/web.yaml"}},
			{Name: "db", Kind: payload.AppManifests, Prefix: "application/apps/db/", Size: 70, Launch: []string{"kubectl apply -f application/apps/db/db.yaml"}},
		},
		launch: []string{"db", "web"},
	})
}

// TestWizardApps: in a real terminal, the wizard lists the carried apps
// with the default ones chosen; the user deselects web, selects it and
// deselects it again, and installs on a real host: the saved Clusterfile
// says appNames [db], and the host's kubectl applied db's manifest only.
func TestWizardApps(t *testing.T) {
	needTmux(t)
	w := testhost.New(t, 1, testhost.Options{RootPassword: rootPassword})
	s := &wizardSite{t: t, w: w, dir: t.TempDir(), home: t.TempDir()}
	appsInstaller(t, s.dir)
	m := s.start()
	m.waitFor(20*time.Second, "Welcome", "2 applications (web, db)", "every byte matches the index")
	m.keys("Enter")
	scr := m.waitFor(5*time.Second, "Applications", "step 2 of 8")
	for _, row := range []string{"[x] 2.  web   manifests   51 B", "[x] 1.  db    manifests   70 B"} {
		if !strings.Contains(scr, row) {
			t.Errorf("the apps screen lacks %q:\n%s", row, scr)
		}
	}
	m.keys("Space")
	m.waitFor(5*time.Second, "[ ]     web", "1 application chosen")
	m.keys("Space")
	m.waitFor(5*time.Second, "[x] 2.  web", "2 applications chosen")
	m.keys("Space")
	m.waitFor(5*time.Second, "[ ]     web", "1 application chosen")
	m.keys("Enter")
	m.waitFor(5*time.Second, "Machines", "Add master")
	m.typeText(s.ip(0))
	m.keys("Enter")
	m.waitFor(5*time.Second, "master0  "+s.ip(0))
	m.keys("Enter")
	s.sshLogin(rootPassword)
	m.waitFor(60*time.Second, "New ED25519 host key: SHA256:", "a accept key")
	m.keys("a")
	m.waitFor(60*time.Second, "all hosts passed")
	m.keys("Enter")
	m.waitFor(5*time.Second, "Review")
	s.install()

	data, err := os.ReadFile(filepath.Join(s.dir, "Clusterfile"))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := clusterfile.Parse("Clusterfile", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.AppNames, []string{"db"}) {
		t.Errorf("saved appNames %q, want [db]:\n%s", c.AppNames, data)
	}
	out, _ := w.Hosts[0].Exec(context.Background(), "cat "+fakek8stest.CallsFile)
	calls, err := fakek8stest.ParseCalls(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, call := range calls {
		if call.Command == "kubectl" && len(call.Argv) > 1 && call.Argv[1] == "apply" {
			applied = append(applied, strings.Join(call.Argv[2:], " "))
		}
	}
	if want := []string{"-f application/apps/db/db.yaml"}; !reflect.DeepEqual(applied, want) {
		t.Errorf("kubectl applied %q, want only db's manifest %q", applied, want)
	}
}
