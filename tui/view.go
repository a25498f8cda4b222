package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/sealpack/sealpack/payload"
)

// summary is what stays in the terminal after the wizard ends.
func (m *model) summary() string {
	if m.state != stateDone || m.done == nil {
		return ""
	}
	return strings.TrimRight(m.done.render(m.width, 1000, true), "\n ")
}

func (m *model) View() string {
	if m.quit {
		return ""
	}
	return m.render()
}

// render lays out header, title row, body and footer in exactly
// width x height cells, so the screen never scrolls at 80x24.
func (m *model) render() string {
	st, w := m.e.st, m.width
	var b strings.Builder
	b.Grow(w * m.height * 2)
	line := func(s string) {
		b.WriteString(ansi.Truncate(s, w, "…"))
		b.WriteByte('\n')
	}
	line(" " + st.brand.Render("sealpack") + st.dim.Render(" · ") + productLine(m.e.opts.Info))
	line(" " + st.rule.Render(strings.Repeat("─", max(w-2, 1))))
	s := m.current()
	left, right := s.title()
	if right == "" {
		n, total := m.step()
		right = st.dim.Render(fmt.Sprintf("step %d of %d", n, total))
	}
	line(" " + spread(st.title.Render(left), right, w-2))
	bodyH := m.height - 4
	body := strings.Split(strings.TrimRight(s.view(w, bodyH), "\n"), "\n")
	for i := 0; i < bodyH; i++ {
		if i < len(body) {
			line(body[i])
		} else {
			b.WriteByte('\n')
		}
	}
	b.WriteString(ansi.Truncate(" "+m.footer(s), w, "…"))
	return b.String()
}

func (m *model) footer(s screen) string {
	st, k := m.e.st, m.e.keys
	if !m.confirm {
		return st.renderHelp(s.help())
	}
	q, yes, no := "Quit the installer? No host was changed.", "quit", "stay"
	switch m.state {
	case stateInstall:
		q, yes, no = "Stop the install? It stops safely and can resume.", "stop", "go on"
	case stateDone:
		q = "Leave the installer?"
	}
	return st.prompt.Render(q) + " " + st.renderHelp([]helpItem{hk(k.Yes, yes), hk(k.No, no)})
}

// productName is "acme-platform 3.1.4", or a stand-in for an installer
// built without a title label.
func productName(r *payload.Report) string {
	name := r.Name
	if name == "" {
		name = "the cluster"
	}
	return strings.TrimSpace(name + " " + r.Version)
}

// productLine is "acme-platform 3.1.4 · linux/amd64 · 2.1 GiB · 37 images".
func productLine(r *payload.Report) string {
	name := r.Name
	if name == "" {
		name = "installer"
	}
	if r.Version != "" {
		name += " " + r.Version
	}
	return fmt.Sprintf("%s · %s · %s · %s", name, r.Platform,
		payload.HumanBytes(r.StubBytes+r.PayloadBytes), plural(len(r.Images), "image", "images"))
}
