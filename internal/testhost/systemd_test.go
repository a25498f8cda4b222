package testhost

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Systemd hosts boot a real systemd, reachable over real sshd, each with its
// own address, machine-id, journal and cgroup tree; they reach each other
// and nothing beyond the bridge; teardown leaves no mount or cgroup behind.
func TestSystemdHosts(t *testing.T) {
	w := New(t, 2, Options{Systemd: true})
	ids := map[string]bool{}
	for _, h := range w.Hosts {
		run := rootSession(t, h)
		if got := run("cat /proc/1/comm"); got != "systemd" {
			t.Errorf("%s: PID 1 is %q, want systemd", h.Name, got)
		}
		if got := run("systemctl is-active ssh systemd-journald"); got != "active\nactive" {
			t.Errorf("%s: ssh and journald: %q, want active twice", h.Name, got)
		}
		if got := run("hostname"); got != h.Name {
			t.Errorf("hostname = %q, want %s", got, h.Name)
		}
		ids[run("cat /etc/machine-id")] = true
		// A unit started over SSH runs, logs to the journal and is stopped.
		run("systemd-run --unit spk-probe --remain-after-exit sh -c 'echo probe-says-hi'")
		if err := h.WaitFor(context.Background(), "journalctl -u spk-probe | grep -q probe-says-hi", 30*time.Second); err != nil {
			t.Errorf("%s: journal: %v", h.Name, err)
		}
		// containerd and kubelet need writable cgroups and forwarding.
		run("d=/sys/fs/cgroup/pids; [ -d $d ] || d=/sys/fs/cgroup; mkdir $d/spk-probe-cg && rmdir $d/spk-probe-cg")
		if got := run("cat /proc/sys/net/ipv4/ip_forward /proc/sys/vm/overcommit_memory"); got != "1\n1" {
			t.Errorf("%s: ip_forward, overcommit_memory = %q, want 1 and 1", h.Name, got)
		}
		if got := run("ip route show default"); got != "" {
			t.Errorf("%s: has a default route %q: test hosts must reach nothing beyond the bridge", h.Name, got)
		}
		// Booting tried nothing beyond the bridge; an attempt counts.
		if c, err := h.Egress(t.Context()); err != nil || c.Total() != 0 {
			t.Errorf("%s: egress after boot = %s, %v; want 0", h.Name, c, err)
		}
		run("curl -sS --max-time 2 http://203.0.113.7/ || true")
		if c, err := h.Egress(t.Context()); err != nil || c.Sent == 0 {
			t.Errorf("%s: egress after a curl to the outside = %s, %v; want it counted", h.Name, c, err)
		}
	}
	if len(ids) != 2 {
		t.Errorf("machine-ids not unique: %v", ids)
	}
	if out, err := sshRun(w.Hosts[0], "root", gossh.Password(DefaultRootPassword), reachCmd(w.Hosts[1])); err != nil || out != "reached" {
		t.Errorf("host-1 to host-2: %q %v", out, err)
	}
	dirs := []string{w.Hosts[0].dir, w.Hosts[1].dir}
	netns := w.Hosts[0].netns
	if err := w.Down(); err != nil {
		t.Fatal(err)
	}
	mi := readFile(t, "/proc/self/mountinfo")
	for _, d := range dirs {
		if strings.Contains(mi, d) {
			t.Errorf("a mount under %s is left after Down", d)
		}
	}
	found := false
	removeCgroups(func(n string) bool {
		if n == netns {
			found = true
		}
		return false
	})
	if found {
		t.Errorf("cgroup %s is left after Down", netns)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
