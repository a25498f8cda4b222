package tui

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// Preflight checks get a column each, in this order when they come under
// one of these names or aliases (compared without case and punctuation);
// checks of other names get a column after them, as far as the width goes,
// and always count in the host's result and details. Only checks that
// arrived have a column, so a deployer that folds reachability, login and
// host key into one "connect" check shows one column for it.
var checkColumns = []struct {
	key, head string
	aliases   []string
}{
	{"reachable", "net", []string{"connect", "reach", "connection", "ssh", "network", "tcp"}},
	{"auth", "auth", []string{"login", "authentication", "authenticate"}},
	{"host-key", "key", []string{"key", "knownhosts", "fingerprint"}},
	{"sudo", "sudo", []string{"root", "privileges"}},
	{"os-arch", "os", []string{"os", "arch", "platform", "osarch", "architecture", "facts"}},
	{"cpu", "cpu", []string{"cpus"}},
	{"memory", "mem", []string{"mem", "ram"}},
	{"disk", "disk", []string{"diskspace", "space"}},
	{"ports", "port", []string{"port", "portsfree"}},
	{"swap", "swap", []string{"swapoff"}},
	{"clock", "time", []string{"time", "clockskew", "ntp", "skew"}},
	{"hostname", "name", []string{"hostnames", "uniquehostname", "uniquehostnames"}},
}

const hostKeyColumn = 2

var checkIndex = func() map[string]int {
	m := map[string]int{}
	for i, c := range checkColumns {
		m[normCheck(c.key)] = i
		for _, a := range c.aliases {
			m[normCheck(a)] = i
		}
	}
	return m
}()

func normCheck(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// columnOf returns the known column of a check name, or -1.
func columnOf(name string) int {
	if i, ok := checkIndex[normCheck(name)]; ok {
		return i
	}
	return -1
}

// column is one column of the table: a known check or another name.
type column struct {
	known int    // index in checkColumns, or -1
	name  string // the normalized name of an unknown check
	head  string
}

func (c column) matches(r checkResult) bool {
	if c.known >= 0 {
		return r.col == c.known
	}
	return r.col < 0 && r.norm == c.name
}

// fingerprintRE finds an OpenSSH SHA256 fingerprint in a check's message.
var fingerprintRE = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]+=*`)

type checkResult struct {
	name   string
	status event.Status
	msg    string
	col    int    // columnOf(name), computed once
	norm   string // normCheck(name)
}

// pfHost is one host's preflight.
type pfHost struct {
	ip      string
	role    string
	checks  []checkResult // in arrival order; a repeated name replaces
	failMsg string        // the host failed as a whole (unreachable...)
	done    bool
}

func (h *pfHost) set(c checkResult) {
	c.col, c.norm = columnOf(c.name), normCheck(c.name)
	for i := range h.checks {
		if h.checks[i].name == c.name {
			h.checks[i] = c
			return
		}
	}
	h.checks = append(h.checks, c)
}

// newKey is the fingerprint of a host key seen for the first time, which
// the user may accept: a warning of the host-key check, or a failed check
// that says "unknown host key". A changed key is never offered: that is
// what an attack looks like, and the fix is on the host or in known_hosts.
func (h *pfHost) newKey() string {
	for _, c := range h.checks {
		if c.status == event.OK {
			continue
		}
		msg := strings.ToLower(c.msg)
		if strings.Contains(msg, "changed") {
			continue
		}
		if c.col == hostKeyColumn && c.status == event.Warn || strings.Contains(msg, "unknown host key") {
			if fp := fingerprintRE.FindString(c.msg); fp != "" {
				return fp
			}
		}
	}
	return ""
}

func (h *pfHost) status(finished bool) rowStatus {
	worst := statusOK
	if h.failMsg != "" {
		return statusFail
	}
	for _, c := range h.checks {
		switch c.status {
		case event.Fail:
			worst = statusFail
		case event.Warn:
			if worst != statusFail {
				worst = statusWarn
			}
		}
	}
	switch {
	case worst == statusFail:
		return statusFail
	case !h.done && !finished:
		if len(h.checks) == 0 {
			return statusPending
		}
		return statusRunning
	case len(h.checks) == 0:
		return statusPending
	}
	return worst
}

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

// newKeys returns the fingerprints waiting for acceptance.
func (p *preflightScreen) newKeys() map[string]string {
	out := map[string]string{}
	for _, h := range p.hosts {
		if fp := h.newKey(); fp != "" {
			out[h.ip] = fp
		}
	}
	return out
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
		if keys := p.newKeys(); len(keys) > 0 {
			p.note = ""
			return send(acceptKeysMsg{fingerprints: keys})
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
	if len(p.newKeys()) > 0 {
		items = append(items, hk(k.Accept, "accept keys"))
	}
	items = append(items, hk(k.Recheck, "re-check"), helpItem{"e", "edit"}, hk(k.SSH, "ssh"), hk(k.Back, "back"), hk(k.Quit, "quit"))
	return items
}

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
		for _, c := range h.checks {
			for j, col := range cols {
				if col.matches(c) {
					cells[j] = st.status(checkStatus(c.status))
				}
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

// columns are the checks that arrived, known ones in their order, then
// others in the order they came, at most n.
func (p *preflightScreen) columns(n int) []column {
	seen := make([]bool, len(checkColumns))
	var others []column
	for _, h := range p.hosts {
		for _, c := range h.checks {
			if c.col >= 0 {
				seen[c.col] = true
				continue
			}
			name := c.norm
			if !slices.ContainsFunc(others, func(o column) bool { return o.name == name }) {
				others = append(others, column{known: -1, name: name, head: truncate(name, 4)})
			}
		}
	}
	var cols []column
	for i, ok := range seen {
		if ok {
			cols = append(cols, column{known: i, head: checkColumns[i].head})
		}
	}
	cols = append(cols, others...)
	if len(cols) > n {
		cols = cols[:max(n, 0)]
	}
	return cols
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func checkStatus(s event.Status) rowStatus {
	switch s {
	case event.OK:
		return statusOK
	case event.Warn:
		return statusWarn
	case event.Fail:
		return statusFail
	}
	return statusPending
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
	if fp := h.newKey(); fp != "" {
		out = append(out,
			st.warn.Render("   New host key: "+fp),
			"   Compare it with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub run on",
			"   the host; if they match, press a to accept it.")
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

func (p *preflightScreen) anyHostFailed() bool {
	for _, h := range p.hosts {
		if h.status(true) == statusFail {
			return true
		}
	}
	return false
}
