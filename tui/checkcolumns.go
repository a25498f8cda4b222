package tui

import (
	"slices"
	"strings"

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

// The columns of connecting, which one check may cover.
const (
	reachColumn   = 0
	authColumn    = 1
	hostKeyColumn = 2
)

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

// cell is the status of a host's column: of the last check in it, else what
// the checks of connecting say about it. A passed "connect" check folds
// reachability, login and host key, so it passes the auth and key columns
// that other hosts' failures opened; a login or host key check, whatever
// its result, means the host answered, so the net column passes.
func (h *pfHost) cell(c column) (event.Status, bool) {
	var got event.Status
	found := false
	for _, r := range h.checks {
		if c.matches(r) {
			got, found = r.status, true
		}
	}
	if found || c.known < 0 {
		return got, found
	}
	for _, r := range h.checks {
		switch {
		case (c.known == authColumn || c.known == hostKeyColumn) && r.norm == "connect" && r.status == event.OK:
			return event.OK, true
		case c.known == reachColumn && (r.col == authColumn || r.col == hostKeyColumn):
			return event.OK, true
		}
	}
	return "", false
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
