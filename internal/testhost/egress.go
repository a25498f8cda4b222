package testhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Egress: the hosts have no default route, so an attempt to reach any
// address beyond the world's subnet and loopback fails at once, before a
// packet exists: connect() and sendto() (a TCP connection, a DNS query to a
// resolver outside) return ENETUNREACH, and a packet the host is asked to
// forward (a pod's, a container's) is dropped with an ICMP net unreachable.
// The kernel counts each such failure in the host's network namespace, and
// these counters are the host's egress (see EgressCount).
//
// No route or firewall rule is added for it, so the hosts still fail fast.
// Not counted: a socket bound to eth0 (SO_BINDTODEVICE, ping -I), for which
// the kernel takes any address to be on the link and asks for it on the
// bridge, where nothing answers; and a container in a network namespace of
// its own with no way out (loopback only), which reaches nothing at all.

// EgressCount is what Egress counted, by where the attempts came from.
type EgressCount struct {
	// Sent: by the host's own sockets (Ip OutNoRoutes, Ip6OutNoRoutes).
	Sent int
	// Forwarded: packets the host would have routed on, from its pods or
	// containers (IpExt InNoRoutes, Ip6InNoRoutes).
	Forwarded int
}

// Total is Sent + Forwarded.
func (c EgressCount) Total() int { return c.Sent + c.Forwarded }

func (c EgressCount) String() string {
	return fmt.Sprintf("%d (%d sent, %d forwarded)", c.Total(), c.Sent, c.Forwarded)
}

func (c EgressCount) add(d EgressCount) EgressCount {
	return EgressCount{Sent: c.Sent + d.Sent, Forwarded: c.Forwarded + d.Forwarded}
}

// The kernel's counters, by what they count.
var (
	sentCounters      = []string{"Ip.OutNoRoutes", "Ip6OutNoRoutes"}
	forwardedCounters = []string{"IpExt.InNoRoutes", "Ip6InNoRoutes"}
)

// egressScript prints the counters' files and then, after a marker, every
// default route of the namespace (there must be none for the count to hold).
const egressScript = `cat /proc/net/snmp /proc/net/netstat || exit 1
cat /proc/net/snmp6 2>/dev/null
echo ` + routesMarker + `
ip -4 route show default table all || exit 1
ip -6 route show default table all 2>/dev/null
exit 0
`

const routesMarker = "spk-default-routes"

// Egress counts the host's attempts to reach an address outside the world
// since it was first started, restarts included. It fails when the host
// has a default route, under which those attempts would not be counted.
func (h *Host) Egress(ctx context.Context) (EgressCount, error) {
	if _, err := h.world.host(h.Index); err != nil {
		return EgressCount{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.egressNow(ctx)
	if err != nil {
		return EgressCount{}, fmt.Errorf("testhost: %s: counting egress: %w", h.Name, err)
	}
	return h.egressPast.add(c), nil
}

// Egress is the sum of every host's Egress.
func (w *World) Egress(ctx context.Context) (EgressCount, error) {
	var total EgressCount
	var errs []error
	for _, h := range w.Hosts {
		c, err := h.Egress(ctx)
		total = total.add(c)
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// keepEgress adds what the host's network namespace counted to egressPast
// before the namespace goes (destroy, Restart); h.mu is held.
func (h *Host) keepEgress() {
	if !fileExists("/run/netns/" + h.netns) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A default route makes the count meaningless, not smaller: keep it.
	c, _ := h.egressNow(ctx)
	h.egressPast = h.egressPast.add(c)
}

// egressNow reads the counters of the host's network namespace as it is now.
func (h *Host) egressNow(ctx context.Context) (EgressCount, error) {
	cmd := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+h.netns, "--", "/bin/sh", "-c", egressScript)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return EgressCount{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	counters, routes, _ := strings.Cut(string(out), routesMarker+"\n")
	c, err := parseEgress(counters)
	if err != nil {
		return c, err
	}
	if routes = strings.TrimSpace(routes); routes != "" {
		return c, fmt.Errorf("it has a default route (%s): its attempts to reach the outside are not counted", strings.ReplaceAll(routes, "\n", "; "))
	}
	return c, nil
}

// parseEgress reads the counters from the text of /proc/net/snmp and
// /proc/net/netstat (a header line and a value line per group, "Ip: ...")
// and /proc/net/snmp6 (a "name value" line each). The IPv6 ones may be
// missing (IPv6 disabled), the IPv4 ones may not.
func parseEgress(text string) (EgressCount, error) {
	values := map[string]int{}
	var header []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && !strings.HasSuffix(f[0], ":"):
			if v, err := strconv.Atoi(f[1]); err == nil {
				values[f[0]] = v
			}
		case len(f) > 1 && strings.HasSuffix(f[0], ":"):
			if len(header) == 0 || header[0] != f[0] {
				header = f
				continue
			}
			group := strings.TrimSuffix(f[0], ":")
			for i := 1; i < len(f) && i < len(header); i++ {
				if v, err := strconv.Atoi(f[i]); err == nil {
					values[group+"."+header[i]] = v
				}
			}
			header = nil
		}
	}
	sum := func(names []string) (int, error) {
		n := 0
		for _, name := range names {
			v, ok := values[name]
			if !ok && !strings.HasPrefix(name, "Ip6") {
				return 0, fmt.Errorf("the kernel does not count %s", name)
			}
			n += v
		}
		return n, nil
	}
	sent, err := sum(sentCounters)
	if err != nil {
		return EgressCount{}, err
	}
	fwd, err := sum(forwardedCounters)
	if err != nil {
		return EgressCount{}, err
	}
	return EgressCount{Sent: sent, Forwarded: fwd}, nil
}
