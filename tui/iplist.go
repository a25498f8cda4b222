package tui

import (
	"errors"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// parseIPList reads what the user typed on the hosts screen: addresses
// separated by commas or spaces, and ranges FIRST-LAST, with exactly the
// rules of the Clusterfile the wizard writes.
func parseIPList(s string) ([]string, error) {
	ips, err := clusterfile.ParseIPList(s)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, errors.New("type an IP address, a list or a range")
	}
	return ips, nil
}

// isDigits reports whether s is a non-empty run of decimal digits.
func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
