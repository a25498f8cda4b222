package tui

import (
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

func (s *installScreen) title() (string, string) {
	st := s.e.st
	if s.logs {
		h := s.hosts[s.sel]
		what := h.role
		if h.own {
			what = "the installer's own lines"
		}
		return "Log of " + h.ip, st.dim.Render(what + " · " + plural(h.log.len(), "line", "lines"))
	}
	elapsed := s.e.now().Sub(s.started)
	right := clock(elapsed) + " elapsed"
	switch {
	case s.stopping:
		right += " · " + st.warn.Render("stopping safely…")
	default:
		right += " · " + s.eta(elapsed)
	}
	return "Install", right
}

func (s *installScreen) help() []helpItem {
	k := s.e.keys
	if s.logs {
		return []helpItem{{"↑/↓ pgup/pgdn", "scroll"}, {"←/→", "host"}, hk(k.Back, "back"), {"ctrl+c", "stop"}}
	}
	return []helpItem{{"↑/↓", "host"}, hk(k.Logs, "logs"), {"ctrl+c", "stop"}}
}

func (s *installScreen) view(width, height int) string {
	s.w, s.h = width, height
	if s.logs {
		return s.logsView(width, height)
	}
	var b strings.Builder
	for _, p := range s.phases {
		b.WriteString(s.phaseLine(p, width) + "\n")
	}
	left := height - len(s.phases)
	if left >= 7 && len(s.hosts) > 1 {
		rows := min(len(s.hosts), (left-2)/2)
		b.WriteString(s.hostsView(rows, width))
		left -= rows + 1
	}
	if left >= 2 && len(s.hosts) > 0 {
		h := s.hosts[s.sel]
		b.WriteString(" " + s.e.st.ruleWith(h.ip, width-2) + "\n")
		for _, l := range h.log.last(left - 1) {
			b.WriteString(" " + l + "\n")
		}
	}
	return b.String()
}

func (s *installScreen) phaseLine(p *phaseRow, width int) string {
	st := s.e.st
	now := s.e.now()
	var what, extra string
	switch p.status {
	case statusPending:
		what = p.expected
	case statusSkip:
		what = firstLine(p.msg)
		if what == "" {
			what = "already done"
		}
	case statusFail:
		what = firstLine(p.msg)
	default:
		what = p.expected
		if p.total > 0 {
			what = fmt.Sprintf("%d/%d hosts", p.done, p.total)
		}
		if p.name == event.UpgradeKubernetes && p.status == statusOK && p.done == 0 {
			what = "nothing to upgrade" // a new cluster: not "0/3 hosts"
		}
		if p.status == statusRunning && len(p.running) == 1 && p.total <= 1 {
			what = p.running[0]
			if h := s.byIP[p.running[0]]; h != nil && h.log.len() > 0 {
				extra = h.log.last(1)[0]
			}
		}
		if d, t := p.moved(); t > 0 {
			bar := ""
			if barW := min(width-52, 20); barW >= 5 {
				bar = "  " + st.progressBar(d, t, barW)
			}
			extra = pad(payload.HumanBytes(d), 9) + bar
		} else if p.status == statusRunning && len(p.running) > 1 {
			extra = fmt.Sprintf("%d running", len(p.running))
		}
	}
	name := p.name
	if p.status == statusRunning || p.status == statusFail {
		name = st.selected.Render(pad(name, phaseNameWidth))
	} else {
		name = pad(name, phaseNameWidth)
	}
	dur := ""
	switch {
	case p.status == statusRunning:
		dur = clock(now.Sub(p.started))
	case !p.started.IsZero() && !p.ended.IsZero():
		dur = clock(p.ended.Sub(p.started))
	}
	left := "   " + st.status(p.status) + " " + name + " " + pad(what, 12)
	if extra != "" {
		left += " " + extra
	}
	return fit(left, width-7) + " " + st.dim.Render(pad(dur, 5))
}

// phaseNameWidth fits the longest phase name (upgrade-kubernetes), so that
// the rows line up.
var phaseNameWidth = func() int {
	n := 0
	for _, name := range event.InstallPhases {
		n = max(n, len(name))
	}
	return n
}()

func (s *installScreen) hostsView(rows, width int) string {
	st := s.e.st
	var b strings.Builder
	start := window(s.sel, len(s.hosts), rows)
	end := min(start+rows, len(s.hosts))
	label := "hosts"
	if len(s.hosts) > rows {
		label = fmt.Sprintf("hosts %d-%d of %d", start+1, end, len(s.hosts))
	}
	b.WriteString(" " + st.ruleWith(label, width-2) + "\n")
	for i := start; i < end; i++ {
		h := s.hosts[i]
		mark := "  "
		ip := pad(h.ip, 15)
		if i == s.sel {
			mark, ip = symCursor+" ", st.selected.Render(ip)
		}
		last := firstLine(h.msg)
		if last == "" && (h.status == statusRunning || h.own) && h.log.len() > 0 {
			last = h.log.last(1)[0]
		}
		line := " " + mark + st.status(h.status) + " " + ip + " " + pad(h.role, 8) + " " + pad(h.phase, 13) + " " + last
		b.WriteString(fit(line, width) + "\n")
	}
	return b.String()
}

func (s *installScreen) logsView(width, height int) string {
	s.logView.Width, s.logView.Height = max(width-2, 10), max(height, 3)
	var b strings.Builder
	for _, l := range strings.Split(s.logView.View(), "\n") {
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}

// firstLine keeps a row to one line: messages may hold many.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
