package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/shell"
)

// doneScreen says what was installed and how to reach it, or where the
// install stopped and the exact command that resumes it.
type doneScreen struct {
	e       *env
	c       *clusterfile.Cluster
	inst    *installScreen
	fail    *Failure
	saved   string
	saveErr error // saving before a retry failed
}

func newDoneScreen(e *env, c *clusterfile.Cluster, inst *installScreen, fail *Failure, saved string) *doneScreen {
	return &doneScreen{e: e, c: c, inst: inst, fail: fail, saved: saved}
}

func (d *doneScreen) update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := d.e.keys
	switch {
	case key.Matches(km, k.Exit):
		return send(exitMsg{})
	case key.Matches(km, k.Retry) && d.fail != nil:
		return send(retryMsg{})
	}
	return nil
}

func (d *doneScreen) title() (string, string) {
	st := d.e.st
	took := clock(d.inst.ended.Sub(d.inst.started))
	switch {
	case d.fail == nil:
		return "Done", st.ok.Render(symOK+" installed") + st.dim.Render(" in "+took)
	case d.fail.Stopped:
		return "Stopped", st.warn.Render(symWarn+" stopped") + st.dim.Render(" after "+took)
	}
	return "Install failed", st.fail.Render(symFail+" failed") + st.dim.Render(" after "+took)
}

func (d *doneScreen) help() []helpItem {
	k := d.e.keys
	if d.fail != nil {
		return []helpItem{hk(k.Retry, "resume now"), {"enter/q", "exit"}}
	}
	return []helpItem{{"enter/q", "exit"}}
}

func (d *doneScreen) view(width, height int) string { return d.render(width, height, false) }

// render draws the screen; unwrapped writes commands whole, for the summary
// left in the terminal, which wraps them itself (and copies them as one
// line).
func (d *doneScreen) render(width, height int, unwrapped bool) string {
	if d.fail != nil {
		return d.failView(width, height, unwrapped)
	}
	st := d.e.st
	var b strings.Builder
	hosts, masters := len(d.c.Hosts()), len(d.c.Masters())
	fmt.Fprintf(&b, "\n %s %s runs on %s (%s, %s).\n\n", st.ok.Render(symOK), st.brand.Render(productName(d.e.opts.Info)),
		plural(hosts, "host", "hosts"), plural(masters, "master", "masters"), plural(hosts-masters, "node", "nodes"))
	row := d.rows(&b, width, unwrapped)
	m0, _ := d.c.Master0()
	login := m0.SSH.User + "@" + m0.IP
	if kc := d.e.opts.KubeconfigPath; kc != "" {
		row("Kubeconfig", kc)
		row("Reach it", "export KUBECONFIG="+shell.QuoteIfNeeded(kc)+"; kubectl get nodes")
		row("", "or: ssh "+login+" kubectl get nodes")
	} else {
		row("Kubeconfig", "/etc/kubernetes/admin.conf on "+m0.IP)
		row("Reach it", "ssh "+login+" kubectl get nodes")
	}
	row("API server", "https://"+hostPort(m0.IP, "6443"))
	if len(d.e.opts.Info.Images) > 0 {
		row("Images", strings.Join(d.c.ImageRegistries(), ", ")+" (also after this installer exits)")
	}
	d.filesView(&b, row)
	b.WriteString("\n Add machines later:\n")
	b.WriteString(commandLine(fmt.Sprintf("%s join -f %s --nodes IPS", d.e.command(), shell.QuoteIfNeeded(d.saved)), width, unwrapped))
	return b.String()
}

func (d *doneScreen) failView(width, height int, unwrapped bool) string {
	st := d.e.st
	f := d.fail
	var b strings.Builder
	where := f.Step
	if f.Host != "" {
		where += " on " + f.Host
	}
	if f.Stopped {
		fmt.Fprintf(&b, "\n %s The install was stopped during %s; its state is kept.\n", st.warn.Render(symWarn), orDash(f.Step))
	} else {
		fmt.Fprintf(&b, "\n %s The install failed at %s:\n", st.fail.Render(symFail), st.selected.Render(orDash(where)))
		// A preflight during the install reports every problem: on a small
		// screen the first ones show, the rest are in the logs and in the
		// summary left in the terminal.
		lines := strings.Split(f.Message, "\n")
		if limit := max(height-16, 2); len(lines) > limit {
			lines = append(lines[:limit-1:limit-1], fmt.Sprintf("… %d more lines", len(lines)-limit+1))
		}
		for _, l := range lines {
			b.WriteString("   " + l + "\n")
		}
	}
	// The excerpt takes what the screen has left.
	fixed := strings.Count(b.String(), "\n") + 10
	if n := min(len(f.Log), height-fixed); n > 0 {
		title := "last lines"
		if f.Host != "" {
			title += " of " + f.Host
		}
		b.WriteString(" " + st.ruleWith(title, width-2) + "\n")
		for _, l := range f.Log[len(f.Log)-n:] {
			b.WriteString("   " + l + "\n")
		}
		b.WriteString(" " + st.ruleWith("", width-2) + "\n")
	}
	if f.Stopped {
		b.WriteString(" Resume when ready; finished steps are not done again:\n")
	} else {
		b.WriteString(" Fix the cause, then resume; finished steps are not done again:\n")
	}
	b.WriteString(styleLines(st.selected, commandLine(f.Resume, width, unwrapped)))
	if !unwrapped { // the summary is read after the wizard is gone
		b.WriteString(st.dim.Render("   (or press r to resume from here)") + "\n")
	}
	d.filesView(&b, d.rows(&b, width, unwrapped))
	if d.saveErr != nil {
		b.WriteString(" " + st.fail.Render(symFail+" "+d.saveErr.Error()) + "\n")
	}
	return b.String()
}

// rows returns a writer of "label  value" rows to b. A value too wide for
// the screen continues on the next lines rather than being cut, since paths
// and commands are copied from here; the summary (unwrapped) is left for the
// terminal to wrap.
func (d *doneScreen) rows(b *strings.Builder, width int, unwrapped bool) func(label, value string) {
	const lead = 16 // "   " + label + " "
	return func(label, value string) {
		b.WriteString("   " + d.e.st.dim.Render(pad(label, lead-4)) + " ")
		if unwrapped || ansi.StringWidth(value) <= width-lead-1 {
			b.WriteString(value + "\n")
			return
		}
		text := strings.TrimPrefix(wrap(value, width-1, pad("", lead)), pad("", lead))
		b.WriteString(text)
	}
}

func (d *doneScreen) filesView(b *strings.Builder, row func(label, value string)) {
	row("Clusterfile", d.saved)
	if vars := secretVars(d.c.SSH); len(vars) > 0 {
		row("", "(no passwords: a re-run reads "+strings.Join(vars, " and ")+" or asks)")
	} else {
		row("", "(no passwords, and this login needs none)")
	}
	if d.e.opts.LogPath != "" {
		row("Logs", d.e.opts.LogPath)
	}
}

// secretVars are the variables a re-run reads this login's passwords from,
// since the saved Clusterfile holds none: only those it uses (a key login
// with sudo needs SEALPACK_SUDO_PASSWORD, not SEALPACK_SSH_PASSWORD).
func secretVars(s clusterfile.SSH) []string {
	var vars []string
	if s.Passwd != "" {
		vars = append(vars, clusterfile.PasswordEnv)
	}
	if s.PKPasswd != "" {
		vars = append(vars, clusterfile.KeyPassphraseEnv)
	}
	if s.SudoPasswd != "" {
		vars = append(vars, clusterfile.SudoPasswordEnv)
	}
	return vars
}

// hostPort joins an address and a port, with brackets for IPv6.
func hostPort(ip, port string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

// commandLine shows a command to copy, whole: indented when it fits, else
// from the first column, else broken at the width (never cut short).
func commandLine(cmd string, width int, unwrapped bool) string {
	switch n := ansi.StringWidth(cmd); {
	case n <= width-4 || unwrapped:
		return "   " + cmd + "\n"
	case n <= width-2:
		return " " + cmd + "\n"
	}
	var b strings.Builder
	for _, l := range strings.Split(ansi.Hardwrap(cmd, width-2, true), "\n") {
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}
