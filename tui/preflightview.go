package tui

import (
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
)

func (p *preflightScreen) view(width, height int) string {
	st := p.e.st
	var b strings.Builder
	ok, warn, fail, waiting := p.counts()
	sum := fmt.Sprintf(" %d hosts: %d passed", len(p.hosts), ok)
	if warn > 0 {
		sum += fmt.Sprintf(", %d with warnings", warn)
	}
	if fail > 0 {
		sum += fmt.Sprintf(", %d failed", fail)
	}
	if waiting > 0 {
		sum += fmt.Sprintf(", %d checking", waiting)
	}
	b.WriteString(sum + st.dim.Render(" · read-only, nothing changes") + "\n")
	// The table.
	cols := p.columns((width - 21) / 5)
	head := "     " + pad("host", 16)
	for _, c := range cols {
		head += pad(c.head, 5)
	}
	b.WriteString(st.dim.Render(head) + "\n")
	detailMin := 6
	rowsH := max(min(len(p.hosts), height-3-detailMin), 2)
	if len(p.hosts) > rowsH {
		rowsH--
	}
	start := window(p.sel, len(p.hosts), rowsH)
	end := min(start+rowsH, len(p.hosts))
	for i := start; i < end; i++ {
		h := p.hosts[i]
		mark := "  "
		if i == p.sel {
			mark = symCursor + " "
		}
		cells := make([]string, len(cols))
		for j := range cells {
			cells[j] = st.waitSym
		}
		for j, col := range cols {
			if s, ok := h.cell(col); ok {
				cells[j] = st.status(checkStatus(s))
			}
		}
		var row strings.Builder
		row.WriteString(" " + mark + st.status(h.status(p.over)) + " ")
		ipText := pad(h.ip, 16)
		if i == p.sel {
			ipText = st.selected.Render(ipText)
		}
		row.WriteString(ipText)
		for _, c := range cells {
			row.WriteString(pad(c, 5))
		}
		b.WriteString(row.String() + "\n")
	}
	if hidden := len(p.hosts) - (end - start); hidden > 0 {
		b.WriteString(st.dim.Render(fmt.Sprintf("     … %d more hosts (↑/↓)", hidden)) + "\n")
	}
	// The selected host's details.
	if len(p.hosts) > 0 {
		h := p.hosts[p.sel]
		b.WriteString(" " + st.ruleWith(h.ip+" ("+h.role+")", width-2) + "\n")
		lines := p.details(h, width)
		left := height - strings.Count(b.String(), "\n")
		if len(lines) > left {
			lines = append(lines[:max(left-1, 0)], st.dim.Render(fmt.Sprintf("   … %d more lines", len(lines)-left+1)))
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// details lists a host's problems first, then what the user can do about
// them, then what passed, as far as the screen goes.
func (p *preflightScreen) details(h *pfHost, width int) []string {
	st := p.e.st
	var out []string
	add := func(sym, name, msg string) {
		indent := "   " + pad("", 11)
		text := strings.TrimSuffix(wrap(msg, width, indent), "\n")
		first, rest, _ := strings.Cut(text, "\n")
		out = append(out, " "+sym+" "+pad(name, 10)+" "+strings.TrimPrefix(first, indent))
		if rest != "" {
			out = append(out, strings.Split(rest, "\n")...)
		}
	}
	if h.failMsg != "" {
		add(st.fail.Render(symFail), "", h.failMsg)
	}
	for _, c := range h.checks {
		if c.status != event.OK {
			add(st.status(checkStatus(c.status)), c.name, c.msg)
		}
	}
	if fp, typ := h.newKeyOf(); fp != "" {
		what := "New host key: "
		if typ != "" {
			what = "New " + typ + " host key: "
		}
		out = append(out, st.warn.Render("   "+what+fp))
		if h.accepted == fp {
			out = append(out, st.ok.Render("   "+symOK+" accepted")+" (the re-check starts once every new key is decided; r: now)")
		} else {
			out = append(out,
				"   Compare it with ssh-keygen -lf "+hostKeyFile(typ)+" run on",
				"   the host; if they match, press a to accept it.")
		}
	}
	if !p.over && len(h.checks) == 0 && h.failMsg == "" {
		out = append(out, st.dim.Render("   connecting…"))
	}
	if p.over && p.err != nil && !p.anyHostFailed() {
		add(st.fail.Render(symFail), "", p.err.Error())
	}
	if p.note != "" {
		add(st.fail.Render(symFail), "", p.note)
	}
	if p.over && h.status(true) == statusFail {
		out = append(out, st.dim.Render("   Fix it, then r re-checks; e edits this host's address, s the SSH login."))
	}
	for _, c := range h.checks {
		if c.status == event.OK {
			add(st.ok.Render(symOK), c.name, c.msg)
		}
	}
	return out
}
