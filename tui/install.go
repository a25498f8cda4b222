package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

// phaseWeights say roughly how long each phase takes next to the others,
// for the estimate of the time left. Moving the images dominates.
var phaseWeights = map[string]float64{
	event.Preflight: 1, event.Distribute: 6, event.HostInit: 2, event.Registry: 3,
	event.InitMaster0: 3, event.JoinMasters: 2, event.JoinNodes: 2, event.Apps: 2, event.Verify: 1,
}

// phaseRow is one phase of the install.
type phaseRow struct {
	name     string
	status   rowStatus
	started  time.Time
	ended    time.Time
	total    int // hosts, from the phase-start event
	done     int // hosts done or skipped
	running  []string
	expected string // what the phase will cover, shown before it starts
	msg      string // the phase's failure
	bytes    map[string][2]int64
}

func (p *phaseRow) moved() (done, total int64) {
	for _, b := range p.bytes {
		done += b[0]
		total += b[1]
	}
	return
}

// fraction is how much of the phase is done, from bytes when it moves
// bytes, else from hosts.
func (p *phaseRow) fraction() float64 {
	switch p.status {
	case statusOK, statusSkip:
		return 1
	case statusPending:
		return 0
	}
	if d, t := p.moved(); t > 0 {
		return float64(d) / float64(t)
	}
	if p.total > 0 {
		return float64(p.done) / float64(p.total)
	}
	return 0
}

// instHost is one host during the install.
type instHost struct {
	ip, role string
	phase    string
	status   rowStatus
	msg      string
	log      logBuf
}

// installScreen renders the Engine's events: phases, hosts, logs.
type installScreen struct {
	e        *env
	c        *clusterfile.Cluster
	phases   []*phaseRow
	byPhase  map[string]*phaseRow
	hosts    []*instHost // the hosts, then "" for lines no host sent
	byIP     map[string]*instHost
	sel      int
	started  time.Time
	ended    time.Time
	over     bool
	err      error
	stopping bool
	logs     bool // the full-screen log of the selected host
	logView  viewport.Model
	w, h     int // the body's size at the last frame
	// The first failure: where the install broke.
	failHost, failPhase, failMsg string
}

func newInstallScreen(e *env, c *clusterfile.Cluster) *installScreen {
	s := &installScreen{e: e, c: c, byPhase: map[string]*phaseRow{}, byIP: map[string]*instHost{}, started: e.now(), w: 80, h: 20}
	s.logView = viewport.New(78, 10)
	s.logView.KeyMap = viewportKeys(e.keys)
	hosts := c.Hosts()
	masters, nodes := len(c.Masters()), len(c.Nodes())
	m0 := ""
	for _, h := range hosts {
		role := "node"
		if h.IsMaster() {
			role = "master"
			if m0 == "" {
				role, m0 = "master0", h.IP
			}
		}
		ih := &instHost{ip: h.IP, role: role}
		s.hosts = append(s.hosts, ih)
		s.byIP[h.IP] = ih
	}
	all := plural(len(hosts), "host", "hosts")
	expect := map[string]string{
		event.Preflight: all, event.Distribute: all, event.HostInit: all, event.Verify: all,
		event.Registry: all + " (" + plural(masters, "master serves", "masters serve") + ")", event.InitMaster0: m0,
		event.JoinMasters: countOrNone(masters-1, "master", "masters"), event.JoinNodes: countOrNone(nodes, "node", "nodes"),
		event.Apps: countOrNone(len(e.opts.Info.Cmds), "command", "commands"),
	}
	if c.Registry.External != nil {
		expect[event.Registry] = "to " + c.Registry.External.Domain
	}
	for _, name := range event.InstallPhases {
		s.addPhase(name).expected = expect[name]
	}
	return s
}

func (s *installScreen) addPhase(name string) *phaseRow {
	p := &phaseRow{name: name, bytes: map[string][2]int64{}}
	s.phases = append(s.phases, p)
	s.byPhase[name] = p
	return p
}

func (s *installScreen) phase(name string) *phaseRow {
	if p := s.byPhase[name]; p != nil {
		return p
	}
	return s.addPhase(name) // a phase this wizard does not know yet
}

// host returns the host of an event; lines that no host sent go to an
// "installer" entry, added when the first one comes.
func (s *installScreen) host(ip string) *instHost {
	if h := s.byIP[ip]; h != nil {
		return h
	}
	h := &instHost{ip: ip, role: "installer"}
	if ip == "" {
		h.ip = "installer"
	}
	s.hosts = append(s.hosts, h)
	s.byIP[ip] = h
	return h
}

func (s *installScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventsMsg:
		for _, ev := range msg.events {
			s.apply(ev)
		}
		if s.logs {
			s.refreshLogView()
		}
	case tea.KeyMsg:
		return s.key(msg)
	}
	return nil
}

func (s *installScreen) at(ev event.Event) time.Time {
	if !ev.Time.IsZero() {
		return ev.Time
	}
	return s.e.now()
}

func (s *installScreen) apply(ev event.Event) {
	switch ev.Type {
	case event.PhaseStart:
		p := s.phase(ev.Phase)
		p.status, p.started, p.total = statusRunning, s.at(ev), int(ev.Total)
		if ev.Phase == event.Distribute {
			// Its Total counts bytes (the bar shows them); the row counts hosts.
			p.total = len(s.hosts)
		}
	case event.PhaseDone:
		p := s.phase(ev.Phase)
		p.status, p.ended, p.running = statusOK, s.at(ev), nil
		if p.started.IsZero() {
			p.started = p.ended
		}
	case event.PhaseSkip:
		p := s.phase(ev.Phase)
		p.status, p.ended, p.msg = statusSkip, s.at(ev), ev.Message
	case event.PhaseFail:
		p := s.phase(ev.Phase)
		p.status, p.ended, p.msg = statusFail, s.at(ev), ev.Message
		if s.failPhase == "" {
			s.failPhase, s.failMsg = ev.Phase, ev.Message
		}
	case event.HostStart:
		h := s.host(ev.Host)
		h.phase, h.status, h.msg = ev.Phase, statusRunning, ""
		p := s.phase(ev.Phase)
		p.running = appendOnce(p.running, ev.Host)
	case event.HostDone, event.HostSkip:
		h := s.host(ev.Host)
		h.phase, h.status = ev.Phase, statusOK
		p := s.phase(ev.Phase)
		p.running = remove(p.running, ev.Host)
		p.done++
	case event.HostFail:
		h := s.host(ev.Host)
		h.phase, h.status, h.msg = ev.Phase, statusFail, ev.Message
		p := s.phase(ev.Phase)
		p.running = remove(p.running, ev.Host)
		if s.failHost == "" {
			s.failHost, s.failPhase, s.failMsg = ev.Host, ev.Phase, ev.Message
		}
	case event.Waiting:
		s.host(ev.Host).log.add("waiting for " + ev.Message)
	case event.Log:
		h := s.host(ev.Host)
		for _, l := range cleanLines(ev.Message) {
			h.log.add(l)
		}
	case event.Progress:
		p := s.phase(ev.Phase)
		p.bytes[ev.Host] = [2]int64{ev.Done, ev.Total}
	case event.Check:
		if ev.Status != event.OK {
			s.host(ev.Host).log.add(fmt.Sprintf("preflight %s: %s: %s", ev.Check, ev.Status, ev.Message))
		}
	case event.Done:
		if ev.Message != "" {
			s.host("").log.add(ev.Message)
		}
	}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func remove(list []string, s string) []string {
	for i, x := range list {
		if x == s {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// finished: Install returned.
func (s *installScreen) finished(err error) {
	s.over, s.err, s.ended = true, err, s.e.now()
}

// failure says where the install stopped, or nil when it completed.
func (s *installScreen) failure(err error, resume string) *Failure {
	if err == nil {
		return nil
	}
	f := &Failure{Host: s.failHost, Step: s.failPhase, Message: s.failMsg, Resume: resume}
	f.Stopped = s.stopping && errors.Is(err, context.Canceled)
	if f.Step == "" {
		for _, p := range s.phases {
			if p.status == statusRunning {
				f.Step = p.name
				break
			}
		}
	}
	if f.Stopped || f.Message == "" {
		f.Message = err.Error()
	}
	if f.Stopped {
		f.Message = "stopped by the user"
	}
	src := s.byIP[f.Host]
	if src == nil {
		src = s.byIP[""]
	}
	if src != nil {
		f.Log = src.log.last(12)
	}
	return f
}

func (s *installScreen) key(msg tea.KeyMsg) tea.Cmd {
	k := s.e.keys
	if s.logs {
		switch {
		case key.Matches(msg, k.Back), key.Matches(msg, k.Logs):
			s.logs = false
		case key.Matches(msg, k.Left):
			s.sel = (s.sel + len(s.hosts) - 1) % len(s.hosts)
			s.openLogs()
		case key.Matches(msg, k.Right):
			s.sel = (s.sel + 1) % len(s.hosts)
			s.openLogs()
		default:
			var cmd tea.Cmd
			s.logView, cmd = s.logView.Update(msg)
			return cmd
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		s.sel = max(s.sel-1, 0)
	case key.Matches(msg, k.Down):
		s.sel = min(s.sel+1, len(s.hosts)-1)
	case key.Matches(msg, k.PgUp):
		s.sel = max(s.sel-10, 0)
	case key.Matches(msg, k.PgDown):
		s.sel = min(s.sel+10, len(s.hosts)-1)
	case key.Matches(msg, k.Logs):
		s.openLogs()
	}
	return nil
}

func (s *installScreen) openLogs() {
	s.logs = true
	s.logView.Width, s.logView.Height = max(s.w-2, 10), max(s.h, 3)
	s.refreshLogView()
	s.logView.GotoBottom()
}

// refreshLogView keeps following the end unless the user scrolled up.
func (s *installScreen) refreshLogView() {
	follow := s.logView.AtBottom()
	h := s.hosts[s.sel]
	s.logView.SetContent(strings.Join(h.log.last(logCap), "\n"))
	if follow {
		s.logView.GotoBottom()
	}
}

func (s *installScreen) title() (string, string) {
	st := s.e.st
	if s.logs {
		h := s.hosts[s.sel]
		return "Log of " + h.ip, st.dim.Render(fmt.Sprintf("%s · %d lines", h.role, h.log.len()))
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

// eta estimates the time left from the weighted share of work done.
func (s *installScreen) eta(elapsed time.Duration) string {
	var total, done float64
	for _, p := range s.phases {
		if p.status == statusSkip {
			continue // took no time: it would make the rest look fast
		}
		w := phaseWeights[p.name]
		if w == 0 {
			w = 1
		}
		total += w
		done += w * p.fraction()
	}
	if total == 0 || done/total < 0.02 || elapsed < 5*time.Second {
		return "estimating…"
	}
	f := done / total
	left := time.Duration(float64(elapsed) * (1 - f) / f)
	return "~" + clock(left) + " left"
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
		name = st.selected.Render(pad(name, 15))
	} else {
		name = pad(name, 15)
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
		if last == "" && h.status == statusRunning && h.log.len() > 0 {
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

func countOrNone(n int, one, many string) string {
	if n == 0 {
		return "none"
	}
	return plural(n, one, many)
}

// firstLine keeps a row to one line: messages may hold many.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
