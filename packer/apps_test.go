package packer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// writeContext writes files (path: content) under dir.
func writeContext(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const webYAML = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: docker.io/library/nginx:1.27\n"

// appContext is a build context with two apps: web (a manifest and a
// directory of manifests) and db (a Helm chart), and helm in bin/.
func appContext(t *testing.T, kubefile string) string {
	t.Helper()
	dir := t.TempDir()
	writeContext(t, dir, map[string]string{
		"Kubefile":                     kubefile,
		"helm":                         "#!/bin/sh\n",
		"web/web.yaml":                 webYAML,
		"web/more/svc.yaml":            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
		"charts/db/Chart.yaml":         "apiVersion: v2\nname: db\nversion: 0.1.0\n",
		"charts/db/values.yaml":        "image: docker.io/library/postgres:16\n",
		"charts/db/templates/sts.yaml": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  template:\n    spec:\n      containers:\n      - name: db\n        image: {{ .Values.image }}\n",
		"scripts/setup.sh":             "echo setup\n",
		"manifests/cni.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cni}\n",
	})
	return dir
}

const twoApps = `FROM scratch
COPY --chmod=0755 helm bin/
APP web local://web/web.yaml local://web/more
APP db local://charts/db
CMD kubectl apply -f manifests/cni.yaml
LAUNCH ["db", "web"]
`

// TestAppsBuild: APP's files land under application/apps/<name>/, the
// index lists each app with its kind, launch commands and the size of its
// files, LAUNCH's order is the default, and inspect shows them.
func TestAppsBuild(t *testing.T) {
	dir := appContext(t, twoApps)
	out := filepath.Join(t.TempDir(), "apps.run")
	mustBuild(t, opts(dir, out))
	r := open(t, out)
	idx := r.Index()
	size := func(prefix string) int64 {
		var n int64
		for _, f := range idx.Files {
			if strings.HasPrefix(f.Path, prefix) {
				n += f.Size
			}
		}
		return n
	}
	want := []payload.App{
		{Name: "web", Kind: "manifests", Prefix: "application/apps/web/", Size: int64(len(webYAML)) + 51, Launch: []string{
			"kubectl apply -f application/apps/web/web.yaml", "kubectl apply -R -f application/apps/web/more"}},
		{Name: "db", Kind: "helm", Prefix: "application/apps/db/", Size: size("application/apps/db/"), Launch: []string{
			"helm upgrade --install db application/apps/db/db"}},
	}
	if !reflect.DeepEqual(idx.Apps, want) {
		t.Errorf("apps\n%+v\nwant\n%+v", idx.Apps, want)
	}
	if want[1].Size == 0 || want[0].Size != size("application/apps/web/") {
		t.Errorf("sizes: db %d, web %d, its files %d", want[1].Size, want[0].Size, size("application/apps/web/"))
	}
	if !reflect.DeepEqual(idx.Launch, []string{"db", "web"}) {
		t.Errorf("launch %q, want [db web]", idx.Launch)
	}
	if !reflect.DeepEqual(idx.Cmds, []string{"kubectl apply -f manifests/cni.yaml"}) {
		t.Errorf("cmds %q: CMD lines stay as they are beside the apps", idx.Cmds)
	}
	for _, p := range []string{"application/apps/web/web.yaml", "application/apps/web/more/svc.yaml", "application/apps/db/db/Chart.yaml", "application/apps/db/db/templates/sts.yaml"} {
		if _, ok := r.File(p); !ok {
			t.Errorf("%s missing from the rootfs", p)
		}
	}
	var text, js bytes.Buffer
	rep := r.Report()
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\nApps: +2 \(2 launched by default\)\n`).MatchString(text.String()) {
		t.Errorf("inspect's summary does not count the apps:\n%s", text.String())
	}
	for _, line := range []string{
		"  db   helm       " + payload.HumanBytes(want[1].Size) + "  by default, 1.",
		"  web  manifests  " + payload.HumanBytes(want[0].Size) + "  by default, 2."} {
		if !strings.Contains(text.String(), line+"\n") {
			t.Errorf("inspect does not show %q:\n%s", line, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"name": "db",`, `"kind": "helm",`, `"default": true,`, `"order": 2,`, `"launch": [` + "\n    \"db\",\n    \"web\"\n  ]"} {
		if !strings.Contains(js.String(), s) {
			t.Errorf("inspect --json lacks %s:\n%s", s, js.String())
		}
	}
}

// TestAppsDefaultLaunch: without LAUNCH every app launches, in APP order;
// a script launches with sh; an installer without apps has no apps field.
func TestAppsDefaultLaunch(t *testing.T) {
	dir := appContext(t, "FROM scratch\nAPP setup local://scripts/setup.sh\nAPP web local://web/web.yaml\n")
	out := filepath.Join(t.TempDir(), "a.run")
	mustBuild(t, opts(dir, out))
	idx := open(t, out).Index()
	if !reflect.DeepEqual(idx.Launch, []string{"setup", "web"}) || len(idx.Apps) != 2 ||
		idx.Apps[0].Kind != "shell" || idx.Apps[0].Launch[0] != "sh application/apps/setup/setup.sh" {
		t.Errorf("apps %+v launch %q", idx.Apps, idx.Launch)
	}
	plain := appContext(t, "FROM scratch\nCOPY manifests /manifests\n")
	out = filepath.Join(t.TempDir(), "plain.run")
	mustBuild(t, opts(plain, out))
	if idx := open(t, out).Index(); idx.Apps != nil || idx.Launch != nil {
		t.Errorf("no APP, yet apps %+v launch %q", idx.Apps, idx.Launch)
	}
}

// TestAppsFrom: FROM inherits the base's apps and launch list; an APP of
// the same name replaces the base's (its files too) in its place; a new
// app without LAUNCH joins the end of the list.
func TestAppsFrom(t *testing.T) {
	base := appContext(t, "FROM scratch\nAPP web local://web/more\nAPP setup local://scripts/setup.sh\nLAUNCH [\"web\"]\n")
	baseOut := filepath.Join(t.TempDir(), "base.run")
	mustBuild(t, opts(base, baseOut))
	child := appContext(t, "FROM "+baseOut+"\nCOPY --chmod=0755 helm bin/\nAPP db local://charts/db\nAPP web local://web/web.yaml\n")
	out := filepath.Join(t.TempDir(), "child.run")
	mustBuild(t, opts(child, out))
	r := open(t, out)
	idx := r.Index()
	var names []string
	for _, a := range idx.Apps {
		names = append(names, a.Name+":"+strings.Join(a.Launch, ";"))
	}
	want := []string{"web:kubectl apply -f application/apps/web/web.yaml", "setup:sh application/apps/setup/setup.sh", "db:helm upgrade --install db application/apps/db/db"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("apps %q\nwant %q", names, want)
	}
	if !reflect.DeepEqual(idx.Launch, []string{"web", "db"}) {
		t.Errorf("launch %q, want the base's [web] then the new db", idx.Launch)
	}
	if _, ok := r.File("application/apps/web/more/svc.yaml"); ok {
		t.Errorf("the base's web files stayed although the child's APP web replaced them")
	}
	if _, ok := r.File("application/apps/setup/setup.sh"); !ok {
		t.Errorf("the base's setup app lost its file")
	}
}

// TestAppBuildErrors: mistakes seen only with the build context name the
// Kubefile and the APP or LAUNCH line.
func TestAppBuildErrors(t *testing.T) {
	cases := []struct{ name, kubefile, want string }{
		{"missing path", "FROM scratch\n\nAPP web local://nope.yaml\n", "Kubefile:3: APP web: local://nope.yaml: no such file or directory in the build context"},
		{"outside the context", "FROM scratch\nAPP web local://../x.yaml\n", "Kubefile:2: APP web: local://../x.yaml: outside the build context"},
		{"unknown kind", "FROM scratch\nAPP web local://helm\n", "Kubefile:2: APP web: local://helm: not a manifest (.yaml, .yml, .json), a Helm chart"},
		{"launch unknown", "FROM scratch\nAPP web local://web/web.yaml\nLAUNCH [\"web\", \"db\"]\n", "Kubefile:3: LAUNCH: no app db (the apps: web)"},
		{"launch without apps", "FROM scratch\nLAUNCH [\"db\"]\n", "Kubefile:2: LAUNCH: no app db (the apps: none)"},
		{"chart without helm", "FROM scratch\nAPP db local://charts/db\n", "Kubefile:2: APP db: a Helm chart launches with helm, and the image carries no bin/helm"},
		{"same name twice", "FROM scratch\nAPP web local://web/web.yaml local://charts/db/templates/../../../web/web.yaml\n", "Kubefile:2: APP web: two paths named web.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := appContext(t, c.kubefile)
			o := opts(dir, filepath.Join(t.TempDir(), "x.run"))
			o.Kubefile = filepath.Join(dir, "Kubefile")
			_, err := Build(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), o.Kubefile+":") {
				t.Errorf("error %q does not start with the Kubefile", err)
			}
		})
	}
}

// TestAppImagesDiscovered: the images an app's manifests and chart name are
// found like those of any YAML in the rootfs.
func TestAppImagesDiscovered(t *testing.T) {
	dir := appContext(t, twoApps)
	o := opts(dir, filepath.Join(t.TempDir(), "x.run"))
	var list bytes.Buffer
	o.Images = NewImageStep(ImageOptions{DryRun: &list})
	_, err := Build(context.Background(), o)
	if !errors.Is(err, ErrDryRun) {
		t.Fatalf("Build: %v, want ErrDryRun", err)
	}
	for _, im := range []string{"docker.io/library/nginx:1.27", "docker.io/library/postgres:16"} {
		if !strings.Contains(list.String(), im+"\n") {
			t.Errorf("the dry run does not list %s:\n%s", im, list.String())
		}
	}
}
