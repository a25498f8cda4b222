package tui

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxRangeHosts bounds one range, so that a typo such as
// 10.0.0.1-10.9.0.1 is refused rather than adding a million rows.
const maxRangeHosts = 1024

// parseIPList reads what the user typed on the hosts screen: addresses
// separated by commas or spaces, and ranges FIRST-LAST written the way the
// Clusterfile writes them (10.0.0.5-10.0.0.9). It returns the addresses in
// the order given. (clusterfile has the same rules but keeps them private.)
func parseIPList(s string) ([]string, error) {
	var out []string
	seen := map[netip.Addr]bool{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		addrs, err := expandEntry(part)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if seen[a] {
				return nil, fmt.Errorf("%s is typed twice", a)
			}
			seen[a] = true
			out = append(out, a.String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("type an IP address, a list or a range")
	}
	return out, nil
}

func expandEntry(entry string) ([]netip.Addr, error) {
	first, last, isRange := strings.Cut(entry, "-")
	if !isRange {
		a, err := hostAddr(entry)
		if err != nil {
			return nil, err
		}
		return []netip.Addr{a}, nil
	}
	lo, err := hostAddr(first)
	if err != nil {
		return nil, err
	}
	hi, err := hostAddr(last)
	if err != nil {
		if lo.Is4() && isDigits(last) {
			b := lo.As4()
			return nil, fmt.Errorf("%q: write the range in full, %s-%d.%d.%d.%s", entry, lo, b[0], b[1], b[2], last)
		}
		return nil, err
	}
	if lo.Is4() != hi.Is4() {
		return nil, fmt.Errorf("%q mixes IPv4 and IPv6", entry)
	}
	if hi.Less(lo) {
		return nil, fmt.Errorf("%q: %s comes after %s", entry, lo, hi)
	}
	var out []netip.Addr
	for a := lo; ; a = a.Next() {
		if len(out) == maxRangeHosts {
			return nil, fmt.Errorf("%q is more than %d addresses", entry, maxRangeHosts)
		}
		out = append(out, a)
		if a == hi {
			return out, nil
		}
	}
}

// hostAddr parses one host address; the unspecified, multicast and
// broadcast-looking addresses cannot be machines.
func hostAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.Addr{}, fmt.Errorf("%q is not a machine's address", s)
	}
	return a, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
