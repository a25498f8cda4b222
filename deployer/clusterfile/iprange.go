package clusterfile

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxRange bounds how many addresses one range may stand for, so that a
// typo such as 10.0.0.1-10.9.0.1 is an error rather than a million hosts.
const maxRange = 4096

// parseHostIP parses one host address. Zones, the unspecified address and
// multicast addresses are refused; IPv4-mapped IPv6 addresses become IPv4,
// so one host cannot be listed twice under two spellings.
func parseHostIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.Addr{}, fmt.Errorf("%q is not a host address", s)
	}
	return a, nil
}

// ParseIPList reads addresses as people type them (the wizard, join
// --nodes): addresses and FIRST-LAST ranges separated by commas, spaces or
// semicolons, with the Clusterfile's rules. Addresses come back in the
// order given; one given twice is an error.
func ParseIPList(s string) ([]string, error) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\t' })
	addrs, err := parseIPArgs(parts)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

// expandIPs reads one entry of an ips list: an address, or a range
// FIRST-LAST (both ends included), as sealer writes them. Sealer has no short
// form such as 192.168.0.5-9; the error for it shows the form to write.
func expandIPs(entry string) ([]netip.Addr, error) {
	first, last, isRange := strings.Cut(strings.TrimSpace(entry), "-")
	if !isRange {
		a, err := parseHostIP(entry)
		if err != nil {
			return nil, err
		}
		return []netip.Addr{a}, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%q is not an IP range: %s", entry, fmt.Sprintf(format, args...))
	}
	lo, err := parseHostIP(first)
	if err != nil {
		return nil, bad("%v", err)
	}
	hi, err := parseHostIP(last)
	if err != nil {
		if lo.Is4() && isDigits(strings.TrimSpace(last)) {
			full := lo.As4()
			return nil, bad("%v (write %s-%d.%d.%d.%s)", err, lo, full[0], full[1], full[2], strings.TrimSpace(last))
		}
		return nil, bad("%v", err)
	}
	if lo.Is4() != hi.Is4() {
		return nil, bad("%s and %s are not of the same IP version", lo, hi)
	}
	if hi.Less(lo) {
		return nil, bad("%s comes after %s", lo, hi)
	}
	var out []netip.Addr
	for a := lo; ; a = a.Next() {
		if len(out) == maxRange {
			return nil, bad("more than %d addresses", maxRange)
		}
		out = append(out, a)
		if a == hi {
			return out, nil
		}
	}
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

// compressIPs writes addresses back as ips entries, in the given order: a
// run of at least minRun consecutive addresses becomes a range FIRST-LAST.
func compressIPs(addrs []netip.Addr, minRun int) []string {
	var out []string
	for i := 0; i < len(addrs); {
		j := i + 1
		for j < len(addrs) && addrs[j] == addrs[j-1].Next() {
			j++
		}
		if j-i >= minRun && minRun > 1 {
			out = append(out, addrs[i].String()+"-"+addrs[j-1].String())
		} else {
			for _, a := range addrs[i:j] {
				out = append(out, a.String())
			}
		}
		i = j
	}
	return out
}

// parseIPArgs reads addresses given on a command line (join --nodes ...):
// each argument may be a comma-separated list of addresses and ranges.
func parseIPArgs(args []string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, arg := range args {
		for _, part := range strings.Split(arg, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			addrs, err := expandIPs(part)
			if err != nil {
				return nil, err
			}
			for _, a := range addrs {
				if seen[a] {
					return nil, fmt.Errorf("%s is given twice", a)
				}
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out, nil
}
