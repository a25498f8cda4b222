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
)

// instHost is one host during the install.
type instHost struct {
	ip, role string
	phase    string
	status   rowStatus
	msg      string
	log      logBuf
	own      bool // the installer's own lines, not a host's
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
		// It works only when the cluster runs an older Kubernetes.
		event.UpgradeKubernetes: "on upgrades",
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

// thisMachine names, in the hosts table, the lines of the installer itself
// (the events that no host sent): it runs on this machine.
const thisMachine = "this machine"

// host returns the host of an event; the installer's own lines go to a
// "this machine" entry, added when the first one comes.
func (s *installScreen) host(ip string) *instHost {
	if h := s.byIP[ip]; h != nil {
		return h
	}
	h := &instHost{ip: ip}
	if ip == "" {
		h.ip, h.own = thisMachine, true
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
		if h.own {
			h.phase = ev.Phase
		}
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
