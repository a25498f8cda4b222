// Package shell quotes words for a POSIX shell: one rule for the scripts
// sealpack runs on hosts and for the commands it shows a user to copy.
package shell

import "strings"

// Quote single-quotes s, whatever it holds: for scripts, where a word must
// never be split, globbed or expanded.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteIfNeeded leaves s bare when it holds only characters no shell
// treats specially (letters, digits, @%+=:,./_-), else quotes it: for
// commands shown to a user, which read better bare.
func QuoteIfNeeded(s string) string {
	if s == "" {
		return "''"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			return Quote(s)
		}
	}
	return s
}
