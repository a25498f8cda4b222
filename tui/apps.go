package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/payload"
)

// appsScreen lets the user choose which of the carried apps to launch, when
// the installer carries more than one. The choice, in the order the apps
// were chosen, becomes the Clusterfile's spec.appNames.
type appsScreen struct {
	e      *env
	apps   []payload.ReportApp
	sel    int
	chosen []string // in launch order
}

// showApps: the screen is shown only when there is a choice to make.
func showApps(info *payload.Report) bool { return info != nil && len(info.Apps) > 1 }

// newAppsScreen starts from the Clusterfile's spec.appNames when it has
// one, else from the installer's default list.
func newAppsScreen(e *env, initial *clusterfile.Cluster) *appsScreen {
	a := &appsScreen{e: e, apps: e.opts.Info.Apps}
	names := e.opts.Info.Launch
	if initial != nil && initial.AppNames != nil {
		names = initial.AppNames
	}
	for _, n := range names {
		if slices.ContainsFunc(a.apps, func(r payload.ReportApp) bool { return r.Name == n }) {
			a.chosen = append(a.chosen, n)
		}
	}
	a.chosen = slices.Clip(a.chosen)
	if a.chosen == nil {
		a.chosen = []string{}
	}
	return a
}

// names is spec.appNames: nil when the screen is not shown (the file's
// value, or the installer's default, stands).
func (a *appsScreen) names() []string {
	if a == nil {
		return nil
	}
	return slices.Clone(a.chosen)
}

var toggleKey = key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "choose"))

func (a *appsScreen) update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := a.e.keys
	switch {
	case key.Matches(km, k.Up):
		a.sel = max(a.sel-1, 0)
	case key.Matches(km, k.Down):
		a.sel = min(a.sel+1, len(a.apps)-1)
	case key.Matches(km, toggleKey):
		name := a.apps[a.sel].Name
		if i := slices.Index(a.chosen, name); i >= 0 {
			a.chosen = slices.Delete(a.chosen, i, i+1)
		} else {
			a.chosen = append(a.chosen, name)
		}
	case key.Matches(km, k.Next):
		return goTo(stateHosts)
	case key.Matches(km, k.Back):
		return goTo(stateWelcome)
	}
	return nil
}

func (a *appsScreen) title() (string, string) { return "Applications", "" }

func (a *appsScreen) help() []helpItem {
	k := a.e.keys
	return []helpItem{hk(toggleKey, "choose"), {"↑/↓", "move"}, hk(k.Next, "next"), hk(k.Back, "back"), hk(k.Quit, "quit")}
}

func (a *appsScreen) view(width, height int) string {
	st := a.e.st
	var b strings.Builder
	b.WriteString("\n Choose the applications to install; they launch in the order chosen.\n\n")
	nameW := 4
	for _, r := range a.apps {
		nameW = max(nameW, len(r.Name))
	}
	var total int64
	for i, r := range a.apps {
		mark, order := "[ ]", "  "
		if at := slices.Index(a.chosen, r.Name); at >= 0 {
			mark, order = "[x]", fmt.Sprintf("%d.", at+1)
			total += r.Size
		}
		line := fmt.Sprintf("%s %s %s  %s  %s", mark, pad(order, 3), pad(r.Name, nameW), pad(r.Kind, 10), pad(payload.HumanBytes(r.Size), 9))
		if r.Default {
			line += st.dim.Render(" default")
		}
		cursor := "  "
		if i == a.sel {
			cursor = st.brand.Render("›") + " "
			line = st.selected.Render(line)
		}
		b.WriteString(" " + cursor + line + "\n")
	}
	fmt.Fprintf(&b, "\n %s chosen, %s of files.", plural(len(a.chosen), "application", "applications"), payload.HumanBytes(total))
	if len(a.chosen) == 0 {
		b.WriteString(" " + st.warn.Render("Only the cluster and its install commands will be set up."))
	}
	b.WriteString("\n")
	return b.String()
}

func appNames(apps []payload.ReportApp) []string {
	out := make([]string, 0, len(apps))
	for _, a := range apps {
		out = append(out, a.Name)
	}
	return out
}
