package payload

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// AppsDir holds the applications in the rootfs: APP name's files are under
// AppsDir + name + "/" (sealer's layout).
const AppsDir = "application/apps/"

// App kinds: how an app's path launches.
const (
	AppManifests = "manifests" // YAML or JSON: kubectl apply -f
	AppHelm      = "helm"      // a chart directory: helm upgrade --install
	AppShell     = "shell"     // a .sh script: sh
)

// App is one application an installer carries (a Kubefile's APP).
type App struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`   // AppManifests, AppHelm, AppShell; several joined by "+", in path order
	Prefix string   `json:"prefix"` // its files: AppsDir + name + "/"
	Launch []string `json:"launch"` // shell commands run in order on the first master, cwd = the rootfs
	Size   int64    `json:"size"`   // bytes of its files
}

// AppPrefix is where app name's files live in the rootfs.
func AppPrefix(name string) string { return AppsDir + name + "/" }

// App returns the carried app of that name.
func (x *Index) App(name string) (App, bool) {
	for _, a := range x.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// AppNames lists the carried apps' names, in index order.
func (x *Index) AppNames() []string {
	out := make([]string, 0, len(x.Apps))
	for _, a := range x.Apps {
		out = append(out, a.Name)
	}
	return out
}

// validateApps checks that app names are unique and usable in a path, and
// that the default launch list names carried apps only.
func (x *Index) validateApps() error {
	seen := map[string]bool{}
	for _, a := range x.Apps {
		if a.Name == "" || strings.ContainsAny(a.Name, "/\\\x00") || a.Name == "." || a.Name == ".." {
			return &FormatError{Msg: fmt.Sprintf("app %q: bad name", a.Name)}
		}
		if seen[a.Name] {
			return &FormatError{Msg: "duplicate app " + a.Name}
		}
		seen[a.Name] = true
		if a.Prefix != AppPrefix(a.Name) {
			return &FormatError{Msg: fmt.Sprintf("app %s: prefix %q, want %q", a.Name, a.Prefix, AppPrefix(a.Name))}
		}
	}
	for _, n := range x.Launch {
		if !seen[n] {
			return &FormatError{Msg: fmt.Sprintf("launch list names %q, which is not a carried app", n)}
		}
	}
	return nil
}

// ReportApp is one app as inspect lists it.
type ReportApp struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Size    int64    `json:"size"`
	Default bool     `json:"default"`         // launched unless the Clusterfile's spec.appNames says otherwise
	Order   int      `json:"order,omitempty"` // its place in the default launch list, from 1
	Launch  []string `json:"launch"`          // its commands
}

// reportApps lists the carried apps for a Report.
func reportApps(x *Index) []ReportApp {
	out := make([]ReportApp, 0, len(x.Apps))
	for _, a := range x.Apps {
		ra := ReportApp{Name: a.Name, Kind: a.Kind, Size: a.Size, Launch: a.Launch}
		for i, n := range x.Launch {
			if n == a.Name {
				ra.Default, ra.Order = true, i+1
			}
		}
		if ra.Launch == nil {
			ra.Launch = []string{}
		}
		out = append(out, ra)
	}
	return out
}

// appsSection writes the apps for WriteText, default ones first in launch
// order, then the others.
func (rep *Report) appsSection(w io.Writer) {
	apps := slices.Clone(rep.Apps)
	slices.SortStableFunc(apps, func(a, b ReportApp) int {
		switch {
		case a.Default && b.Default:
			return a.Order - b.Order
		case a.Default:
			return -1
		case b.Default:
			return 1
		}
		return 0
	})
	for _, a := range apps {
		launch := "on request (spec.appNames)"
		if a.Default {
			launch = fmt.Sprintf("by default, %d.", a.Order)
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", a.Name, a.Kind, HumanBytes(a.Size), launch)
	}
}
