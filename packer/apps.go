package packer

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// helmBin is where a Helm chart's launch finds helm: bin/ of the rootfs
// goes to /usr/local/bin on every host.
const helmBin = "bin/helm"

// appSet is the apps of a build: the base's, then the Kubefile's APP lines
// (a later APP of a name replaces the earlier one in its place), and the
// default launch list.
type appSet struct {
	apps      []payload.App
	helmAt    map[string]kubefile.Pos // apps with a chart: their APP line
	launch    []string
	launchPos *kubefile.Pos // this Kubefile's LAUNCH, if any
}

// inheritApps takes the base's apps and launch list.
func (s *appSet) inherit(apps []payload.App, launch []string) {
	s.apps = append(s.apps, apps...)
	s.launch = append(s.launch, launch...)
}

// app runs APP: the paths go to application/apps/<name>/ and decide its
// launch commands, one per path in order.
func (b *builder) app(a *kubefile.App) error {
	prefix := payload.AppPrefix(a.Name)
	dir := strings.TrimSuffix(prefix, "/")
	b.root.removeTree(dir) // an app of the base of that name is replaced
	app := payload.App{Name: a.Name, Prefix: prefix}
	var kinds []string
	for _, p := range a.Paths {
		srcs, err := b.sources(p)
		if err != nil {
			return kubefile.Errorf(a.Pos, "APP %s: %s%s: %w", a.Name, kubefile.LocalScheme, p, err)
		}
		for _, s := range srcs {
			target := path.Join(dir, s.name)
			if _, dup := b.root.entries[target]; dup {
				return kubefile.Errorf(a.Pos, "APP %s: two paths named %s (each goes to %s)", a.Name, s.name, target+"/")
			}
			kind, cmd, err := launchOf(a.Name, s, target)
			if err != nil {
				return kubefile.Errorf(a.Pos, "APP %s: %s%s: %w", a.Name, kubefile.LocalScheme, p, err)
			}
			if s.dir {
				err = b.addTree(s.real, target, nil, b.excluded)
			} else {
				err = b.addFile(s.real, target, nil)
			}
			if err != nil {
				return kubefile.Errorf(a.Pos, "APP %s: %w", a.Name, err)
			}
			if kind == payload.AppHelm {
				if b.apps.helmAt == nil {
					b.apps.helmAt = map[string]kubefile.Pos{}
				}
				b.apps.helmAt[a.Name] = a.Pos
			}
			if !slices.Contains(kinds, kind) {
				kinds = append(kinds, kind)
			}
			app.Launch = append(app.Launch, cmd)
		}
	}
	app.Kind = strings.Join(kinds, "+")
	if i := slices.IndexFunc(b.apps.apps, func(o payload.App) bool { return o.Name == a.Name }); i >= 0 {
		b.apps.apps[i] = app
		return nil
	}
	b.apps.apps = append(b.apps.apps, app)
	if b.apps.launchPos == nil && !slices.Contains(b.apps.launch, a.Name) {
		b.apps.launch = append(b.apps.launch, a.Name) // launched unless a LAUNCH says otherwise
	}
	return nil
}

// launchOf says how one path of an app launches: manifests are applied,
// a chart installed (or upgraded) as a Helm release named after the app, a
// script run with sh. target is its place in the rootfs.
func launchOf(name string, s source, target string) (kind, cmd string, err error) {
	q := shell.QuoteIfNeeded(target)
	if s.dir {
		if _, err := os.Stat(filepath.Join(s.real, "Chart.yaml")); err == nil {
			return payload.AppHelm, "helm upgrade --install " + name + " " + q, nil
		}
		if !hasManifests(s.real) {
			return "", "", fmt.Errorf("a directory with neither Chart.yaml nor YAML manifests")
		}
		return payload.AppManifests, "kubectl apply -R -f " + q, nil
	}
	switch ext := strings.ToLower(path.Ext(s.name)); {
	case ext == ".yaml" || ext == ".yml" || ext == ".json":
		return payload.AppManifests, "kubectl apply -f " + q, nil
	case ext == ".sh":
		return payload.AppShell, "sh " + q, nil
	case ext == ".tgz" || strings.HasSuffix(strings.ToLower(s.name), ".tar.gz"):
		return payload.AppHelm, "helm upgrade --install " + name + " " + q, nil
	}
	return "", "", fmt.Errorf("not a manifest (.yaml, .yml, .json), a Helm chart (a directory with Chart.yaml, or .tgz) or a shell script (.sh)")
}

// hasManifests reports whether a directory holds a YAML or JSON file.
func hasManifests(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				found = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found
}

// launch runs LAUNCH: the default launch list, whole.
func (b *builder) launch(l *kubefile.Launch) {
	b.apps.launch = slices.Clone(l.Names)
	pos := l.Pos
	b.apps.launchPos = &pos
}

// checkApps runs once every instruction has: LAUNCH names carried apps only,
// and a chart's app has helm in bin/.
func (b *builder) checkApps() error {
	for _, n := range b.apps.launch {
		if _, ok := b.appByName(n); !ok && b.apps.launchPos != nil {
			return kubefile.Errorf(*b.apps.launchPos, "LAUNCH: no app %s (the apps: %s)", n, orNone(b.appNames()))
		}
	}
	for _, a := range b.apps.apps {
		pos, chart := b.apps.helmAt[a.Name]
		if e, ok := b.root.entries[helmBin]; chart && (!ok || e.typ == "dir") {
			return kubefile.Errorf(pos, "APP %s: a Helm chart launches with helm, and the image carries no %s: COPY helm there (it goes to /usr/local/bin on every host)", a.Name, helmBin)
		}
	}
	return nil
}

func (b *builder) appByName(n string) (payload.App, bool) {
	i := slices.IndexFunc(b.apps.apps, func(a payload.App) bool { return a.Name == n })
	if i < 0 {
		return payload.App{}, false
	}
	return b.apps.apps[i], true
}

func (b *builder) appNames() []string {
	var out []string
	for _, a := range b.apps.apps {
		out = append(out, a.Name)
	}
	return out
}

// appsMeta is the index's apps with the sizes of their files as stored.
func (b *builder) appsMeta(files []payload.File) ([]payload.App, []string) {
	if len(b.apps.apps) == 0 {
		return nil, nil
	}
	apps := slices.Clone(b.apps.apps)
	for i := range apps {
		apps[i].Size = 0
		for _, f := range files {
			if strings.HasPrefix(f.Path, apps[i].Prefix) {
				apps[i].Size += f.Size
			}
		}
	}
	return apps, slices.Clone(b.apps.launch)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
