package testhost

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// A host's attempts to reach anything beyond the world are counted, and
// fail fast; what stays in the world (the jump host, the other hosts,
// loopback) is not counted.
func TestEgressCounted(t *testing.T) {
	w := New(t, 2, Options{})
	ctx := t.Context()
	h1, h2 := w.Hosts[0], w.Hosts[1]
	egress := func(h *Host) EgressCount {
		t.Helper()
		c, err := h.Egress(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, h := range w.Hosts {
		if c := egress(h); c.Total() != 0 {
			t.Fatalf("%s: egress %s right after start, want 0", h.Name, c)
		}
	}

	// Inside the world: this machine, a neighbour, loopback, and an
	// address of the subnet nobody has.
	l, err := net.Listen("tcp", w.JumpIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	nobody := strings.TrimSuffix(w.JumpIP, ".1") + ".250"
	inside := []string{
		"timeout 2 bash -c 'exec 3<>/dev/tcp/" + l.Addr().(*net.TCPAddr).IP.String() + "/" + fmt.Sprint(l.Addr().(*net.TCPAddr).Port) + "'",
		reachCmd(h2),
		"timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22'",
		"timeout 1 bash -c 'exec 3<>/dev/tcp/" + nobody + "/80' || true",
	}
	for _, cmd := range inside {
		if out, err := h1.Exec(ctx, cmd); err != nil {
			t.Fatalf("%s: %v: %s", h1.Name, err, out)
		}
	}
	if c := egress(h1); c.Total() != 0 {
		t.Fatalf("%s: traffic inside the world counted as egress: %s", h1.Name, c)
	}

	// Beyond it: each attempt fails at once and counts.
	if _, err := h1.Exec(ctx, "echo 'nameserver 192.0.2.53' > /etc/resolv.conf"); err != nil {
		t.Fatal(err)
	}
	other := fmt.Sprintf("%s%d.11", netPrefix, w.octet%254+1)
	outside := []string{
		"curl -sS --max-time 2 http://203.0.113.7/",
		"getent hosts example.org",
		"curl -sS --max-time 2 'http://[2001:db8::7]/'",
		"curl -sS --max-time 2 http://" + other + "/", // another world's host
	}
	var before EgressCount
	for _, cmd := range outside {
		start := time.Now()
		out, err := h1.Exec(ctx, cmd)
		took := time.Since(start)
		if err == nil {
			t.Errorf("%s: %q succeeded: %s", h1.Name, cmd, out)
		}
		if took > 3*time.Second {
			t.Errorf("%s: %q took %s to fail, want it at once", h1.Name, cmd, took.Round(time.Millisecond))
		}
		c := egress(h1)
		if c.Sent <= before.Sent || c.Forwarded != 0 {
			t.Errorf("%s: %q left egress at %s, after %s", h1.Name, cmd, c, before)
		}
		t.Logf("%s: %q failed in %s, egress %s", h1.Name, cmd, took.Round(time.Millisecond), c)
		before = c
	}
	if c := egress(h2); c.Total() != 0 {
		t.Errorf("%s counted %s of its neighbour's attempts", h2.Name, c)
	}

	// What a host forwards for a pod counts too.
	pod := `set -e
ip netns add spk-pod
ip link add pod0 type veth peer name eth0 netns spk-pod
ip addr add 10.77.0.1/24 dev pod0
ip link set pod0 up
ip -n spk-pod addr add 10.77.0.2/24 dev eth0
ip -n spk-pod link set eth0 up
ip -n spk-pod route add default via 10.77.0.1
echo 1 > /proc/sys/net/ipv4/ip_forward
nsenter --net=/run/netns/spk-pod curl -sS --max-time 2 http://203.0.113.7/ || true
`
	if out, err := h2.Exec(ctx, pod); err != nil {
		t.Fatalf("%s: %v: %s", h2.Name, err, out)
	}
	if c := egress(h2); c.Forwarded == 0 || c.Sent != 0 {
		t.Errorf("%s: egress %s after a pod's attempt it forwarded, want it counted as forwarded", h2.Name, c)
	}
	if c, err := w.Egress(ctx); err != nil || c != egress(h1).add(egress(h2)) {
		t.Errorf("world egress = %s, %v; want the hosts' sum", c, err)
	}

	// A restart makes a new network namespace; the count goes on.
	if err := w.Restart(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if c := egress(h1); c != before {
		t.Errorf("%s: egress %s after a restart, want the %s before it", h1.Name, c, before)
	}

	// Under a default route attempts are not counted: Egress says so.
	if _, err := h2.Exec(ctx, "ip route add default dev eth0"); err != nil {
		t.Fatal(err)
	}
	if c, err := h2.Egress(ctx); err == nil || !strings.Contains(err.Error(), "default route") {
		t.Errorf("%s: Egress under a default route = %s, %v; want an error", h2.Name, c, err)
	}
}

func TestParseEgress(t *testing.T) {
	text := `Ip: Forwarding DefaultTTL InReceives OutNoRoutes
Ip: 2 64 10 3
Icmp: InMsgs OutNoRoutes
Icmp: 0 100
IpExt: InNoRoutes InTruncatedPkts
IpExt: 4 0
Ip6InReceives                   	9
Ip6InNoRoutes                   	5
Ip6OutNoRoutes                  	7
`
	if c, err := parseEgress(text); err != nil || c != (EgressCount{Sent: 3 + 7, Forwarded: 4 + 5}) {
		t.Errorf("parseEgress = %s, %v; want 10 sent, 9 forwarded", c, err)
	}
	// IPv6 off: its counters are missing, the count stands.
	if c, err := parseEgress("Ip: OutNoRoutes\nIp: 1\nIpExt: InNoRoutes\nIpExt: 2\n"); err != nil || c != (EgressCount{Sent: 1, Forwarded: 2}) {
		t.Errorf("without IPv6: %s, %v; want 1 sent, 2 forwarded", c, err)
	}
	if _, err := parseEgress("Ip6OutNoRoutes 1\n"); err == nil {
		t.Error("no IPv4 counters: no error")
	}
}
