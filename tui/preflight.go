package tui

import (
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// preflightScreen runs the read-only checks and shows them per host.
type preflightScreen struct {
	e       *env
	hosts   []*pfHost
	byIP    map[string]*pfHost
	sel     int
	started time.Time
	ended   time.Time
	over    bool   // Preflight returned
	err     error  // Preflight's error
	note    string // a failed acceptance of keys
}

func newPreflightScreen(e *env, c *clusterfile.Cluster, prev *preflightScreen) *preflightScreen {
	p := &preflightScreen{e: e, byIP: map[string]*pfHost{}, started: e.now()}
	for i, h := range c.Hosts() {
		role := "node"
		if h.IsMaster() {
			role = "master"
			if i == 0 {
				role = "master0"
			}
		}
		ph := &pfHost{ip: h.IP, role: role}
		p.hosts = append(p.hosts, ph)
		p.byIP[h.IP] = ph
	}
	if prev != nil {
		p.sel = min(prev.sel, len(p.hosts)-1)
	}
	return p
}

func (p *preflightScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case eventsMsg:
		for _, ev := range msg.events {
			p.apply(ev)
		}
		return nil
	case tea.KeyMsg:
		return p.key(msg)
	}
	return nil
}

func (p *preflightScreen) apply(ev event.Event) {
	h := p.byIP[ev.Host]
	if h == nil {
		return
	}
	switch ev.Type {
	case event.Check:
		h.set(checkResult{name: ev.Check, status: ev.Status, msg: ev.Message})
	case event.HostFail:
		h.failMsg = ev.Message
		h.done = true
	case event.HostDone, event.HostSkip:
		h.done = true
	}
}

// finished: Preflight returned.
func (p *preflightScreen) finished(err error) {
	p.over, p.err, p.ended = true, err, p.e.now()
}

func (p *preflightScreen) acceptFailed(err error) {
	p.note = fmt.Sprintf("recording the host keys failed: %v", err)
}

// accepted returns the fingerprints the user accepted on this screen.
func (p *preflightScreen) accepted() map[string]string {
	out := map[string]string{}
	for _, h := range p.hosts {
		if h.accepted != "" {
			out[h.ip] = h.accepted
		}
	}
	return out
}

// nextPending is the first host from i on (wrapping) whose new key is still
// to be decided, or -1.
func (p *preflightScreen) nextPending(i int) int {
	for n := range len(p.hosts) {
		j := (i + n) % len(p.hosts)
		if p.hosts[j].pendingKey() != "" {
			return j
		}
	}
	return -1
}

// accept takes the key the screen shows, that of the selected host, and
// moves on to the next host with a new key, so that each fingerprint is
// seen before it is trusted; once none is left, preflight runs again. On a
// host without a new key it only moves to the next one that has one.
func (p *preflightScreen) accept() tea.Cmd {
	h := p.hosts[p.sel]
	fp := h.pendingKey()
	if fp == "" {
		if next := p.nextPending(p.sel); next >= 0 {
			p.sel = next
		}
		return nil
	}
	h.accepted = fp
	p.note = ""
	next := p.nextPending(p.sel)
	if next >= 0 {
		p.sel = next
	}
	// Every accepted key goes each time: the calls may end in any order.
	return send(acceptKeysMsg{fingerprints: p.accepted(), recheck: next < 0})
}

func (p *preflightScreen) passed() bool {
	if !p.over || p.err != nil {
		return false
	}
	for _, h := range p.hosts {
		if h.status(true) == statusFail {
			return false
		}
	}
	return true
}

func (p *preflightScreen) key(msg tea.KeyMsg) tea.Cmd {
	k := p.e.keys
	switch {
	case key.Matches(msg, k.Up):
		p.sel = max(p.sel-1, 0)
	case key.Matches(msg, k.Down):
		p.sel = min(p.sel+1, len(p.hosts)-1)
	case key.Matches(msg, k.PgUp):
		p.sel = max(p.sel-10, 0)
	case key.Matches(msg, k.PgDown):
		p.sel = min(p.sel+10, len(p.hosts)-1)
	case key.Matches(msg, k.Accept):
		if len(p.hosts) > 0 {
			return p.accept()
		}
	case key.Matches(msg, k.Recheck):
		return send(recheckMsg{})
	case key.Matches(msg, k.Edit) && msg.String() == "e":
		return func() tea.Msg { return gotoMsg{to: stateHosts, edit: p.hosts[p.sel].ip} }
	case key.Matches(msg, k.SSH):
		return goTo(stateSSH)
	case key.Matches(msg, k.Next):
		if p.passed() {
			return goTo(stateReview)
		}
	case key.Matches(msg, k.Back):
		return goTo(stateSSH)
	}
	return nil
}

func (p *preflightScreen) counts() (ok, warn, fail, waiting int) {
	for _, h := range p.hosts {
		switch h.status(p.over) {
		case statusOK:
			ok++
		case statusWarn:
			warn++
		case statusFail:
			fail++
		default:
			waiting++
		}
	}
	return
}

func (p *preflightScreen) title() (string, string) {
	st := p.e.st
	if !p.over {
		return "Preflight checks", st.dim.Render("checking · " + clock(p.e.now().Sub(p.started)))
	}
	if p.passed() {
		return "Preflight checks", st.ok.Render(symOK + " all hosts passed")
	}
	_, _, fail, _ := p.counts()
	return "Preflight checks", st.fail.Render(symFail + " " + plural(max(fail, 1), "host needs", "hosts need") + " a fix")
}

func (p *preflightScreen) help() []helpItem {
	k := p.e.keys
	var items []helpItem
	if p.passed() {
		items = append(items, hk(k.Next, "review"))
	}
	items = append(items, helpItem{"↑/↓", "host"})
	switch {
	case len(p.hosts) > 0 && p.hosts[p.sel].pendingKey() != "":
		items = append(items, hk(k.Accept, "accept key"))
	case p.nextPending(0) >= 0:
		items = append(items, hk(k.Accept, "show key"))
	}
	items = append(items, hk(k.Recheck, "re-check"), helpItem{"e", "edit"}, hk(k.SSH, "ssh"), hk(k.Back, "back"), hk(k.Quit, "quit"))
	return items
}

func (p *preflightScreen) anyHostFailed() bool {
	for _, h := range p.hosts {
		if h.status(true) == statusFail {
			return true
		}
	}
	return false
}
