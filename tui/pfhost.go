package tui

import (
	"regexp"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
)

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
