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
	// accepted is the fingerprint of its new key once the user accepted
	// it, until the re-check.
	accepted string
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
// that says "unknown host key" ("unknown ECDSA host key"). A changed key is
// never offered: that is what an attack looks like, and the fix is on the
// host or in known_hosts.
func (h *pfHost) newKey() string {
	fp, _ := h.newKeyOf()
	return fp
}

// newKeyType is the type of the new key as the message names it (ED25519,
// ECDSA, RSA), or "" when it does not.
func (h *pfHost) newKeyType() string {
	_, typ := h.newKeyOf()
	return typ
}

func (h *pfHost) newKeyOf() (fingerprint, keyType string) {
	for _, c := range h.checks {
		if c.status == event.OK {
			continue
		}
		msg := strings.ToLower(c.msg)
		if strings.Contains(msg, "changed") {
			continue
		}
		if c.col == hostKeyColumn && c.status == event.Warn || unknownKeyRE.MatchString(c.msg) {
			if fp := fingerprintRE.FindString(c.msg); fp != "" {
				return fp, keyTypeRE.FindString(c.msg)
			}
		}
	}
	return "", ""
}

// pendingKey is the new key still to be decided: not accepted yet.
func (h *pfHost) pendingKey() string {
	if fp := h.newKey(); fp != "" && fp != h.accepted {
		return fp
	}
	return ""
}

var (
	unknownKeyRE = regexp.MustCompile(`(?i)unknown (?:[A-Z0-9-]+ )?host key`)
	// keyTypeRE finds a key type as OpenSSH names it in messages.
	keyTypeRE = regexp.MustCompile(`\b(?:ED25519|ECDSA|RSA|DSA)(?:-SK)?\b`)
)

// hostKeyFile is the file on a host that holds its public key of a type
// keyTypeRE found, where ssh-keygen -lf shows the fingerprint to compare.
func hostKeyFile(keyType string) string {
	if keyType == "" {
		return "/etc/ssh/ssh_host_*_key.pub"
	}
	return "/etc/ssh/ssh_host_" + strings.ToLower(strings.TrimSuffix(keyType, "-SK")) + "_key.pub"
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
