// Package testhost starts target hosts for the installer's SSH tests on this
// machine: each host is a Linux network namespace on a private bridge, with
// its own mount (an overlay of /), PID, UTS and IPC namespaces, running
// Debian's real OpenSSH sshd with its own host key.
//
// It needs root, ip, nsenter and sshd; tests call New, which skips loudly
// when any of them is missing (and fails under SEALPACK_REQUIRE_ROOT_TESTS=1).
// Everything it creates is named with the prefix "spk-" so that Cleanup can
// remove what a crashed run left behind.
package testhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testreq"
	gossh "golang.org/x/crypto/ssh"
)

// Options configure a World.
type Options struct {
	// RootPassword is root's password on every host (default "sealpack").
	RootPassword string
	// ReadyTimeout bounds the wait for every sshd to answer (default 20s;
	// 3 minutes for systemd hosts, which boot).
	ReadyTimeout time.Duration
	// Systemd hosts boot systemd as PID 1 (systemd-nspawn over a cached
	// Debian rootfs, see EnsureRootfs) instead of running sshd alone: for
	// installs that need an init system, a container runtime, kubelet.
	Systemd bool
}

// group names the tests on hosts when they cannot run (testreq.Skip).
const group = "tests on real sshd hosts"

// DefaultRootPassword is root's password on every host when Options.RootPassword is empty.
const DefaultRootPassword = "sealpack"

// World is a set of hosts on one bridge. The machine running the test is the
// jump host: it has address .1 on the bridge.
type World struct {
	Hosts []*Host
	// JumpIP is this machine's address on the bridge.
	JumpIP string
	// Subnet is the bridge's network, e.g. "10.251.77.0/24".
	Subnet string

	octet   int    // third octet of the subnet, also the world's id in names
	dir     string // /tmp/spk-<octet>: everything on disk, removed last
	bridge  string
	opts    Options
	spawner *spawner
	rootfs  string // lower layer of systemd hosts

	mu   sync.Mutex
	down bool
}

// Host is one target host.
type Host struct {
	// Index is the position in World.Hosts; Name is "host-<Index+1>".
	Index int
	Name  string
	IP    string
	// HostKey is the public key sshd offers (it changes on Restart).
	HostKey gossh.PublicKey

	world  *World
	netns  string // also the name of the veth end on the bridge
	dir    string
	mu     sync.Mutex
	proc   *hostProc
	routed bool // false while BlockFromJump is in force
	// egressPast is what earlier network namespaces of the host counted
	// (see Egress): a restart makes a new one.
	egressPast EgressCount
}

// Addr is the host's sshd address, "ip:22".
func (h *Host) Addr() string { return h.IP + ":22" }

// New brings up n hosts for a test, skipping the test loudly when the machine
// cannot host them (not root, tools missing; a failure instead under
// SEALPACK_REQUIRE_ROOT_TESTS=1, see testreq), and tears them down when it
// ends.
func New(t testing.TB, n int, opts Options) *World {
	t.Helper()
	if os.Geteuid() != 0 {
		testreq.Skip(t, group, "needs root")
	}
	// A first systemd world makes its rootfs (debootstrap, minutes).
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := EnsurePackages(ctx); err != nil {
		testreq.Skip(t, group, err.Error())
	}
	w, err := Up(ctx, n, opts)
	if err != nil {
		t.Fatalf("testhost: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Down(); err != nil {
			t.Errorf("testhost: teardown: %v", err)
		}
	})
	return w
}

// Up starts n hosts. It first removes what crashed earlier runs left behind.
// On error nothing it created is left.
func Up(ctx context.Context, n int, opts Options) (_ *World, err error) {
	if n < 1 || n > maxHosts {
		return nil, fmt.Errorf("testhost: %d hosts asked, 1 to %d possible", n, maxHosts)
	}
	if err := Available(); err != nil {
		return nil, err
	}
	if opts.RootPassword == "" {
		opts.RootPassword = DefaultRootPassword
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 20 * time.Second
		if opts.Systemd {
			opts.ReadyTimeout = 3 * time.Minute
		}
	}
	if err := Cleanup(); err != nil {
		return nil, fmt.Errorf("testhost: removing leftovers: %w", err)
	}
	w := &World{opts: opts}
	if opts.Systemd {
		if _, err := exec.LookPath("systemd-nspawn"); err != nil {
			return nil, errors.New("testhost: systemd hosts need systemd-nspawn (apt-get install systemd-container)")
		}
		if w.rootfs, err = EnsureRootfs(ctx); err != nil {
			return nil, err
		}
	}
	if err := w.claim(); err != nil {
		return nil, err
	}
	w.spawner = newSpawner()
	defer func() {
		if err != nil {
			err = errors.Join(err, w.Down())
		}
	}()
	if err := w.createBridge(ctx); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		w.Hosts = append(w.Hosts, w.newHost(i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, h := range w.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.start(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w, nil
}

// Down stops every host and removes everything the world created. It is
// safe to call more than once.
func (w *World) Down() error {
	w.mu.Lock()
	if w.down {
		w.mu.Unlock()
		return nil
	}
	w.down = true
	w.mu.Unlock()

	errs := make([]error, len(w.Hosts))
	var wg sync.WaitGroup
	for i, h := range w.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.destroy()
		}()
	}
	wg.Wait()
	if w.spawner != nil {
		w.spawner.stop()
	}
	// The bridge and the claim go last: Cleanup keys leftovers on the claim.
	errs = append(errs, removeWorld(w.octet))
	return errors.Join(errs...)
}

// host returns host i of a running world.
func (w *World) host(i int) (*Host, error) {
	w.mu.Lock()
	down := w.down
	w.mu.Unlock()
	if down {
		return nil, errors.New("testhost: the world is down")
	}
	if i < 0 || i >= len(w.Hosts) {
		return nil, fmt.Errorf("testhost: no host %d (world has %d)", i, len(w.Hosts))
	}
	return w.Hosts[i], nil
}

// Partition cuts host i off the bridge (its veth goes down): nothing reaches
// it and it reaches nothing until Heal.
func (w *World) Partition(i int) error {
	h, err := w.host(i)
	if err != nil {
		return err
	}
	return ipRun(context.Background(), "link", "set", h.netns, "down")
}

// Heal undoes Partition.
func (w *World) Heal(i int) error {
	h, err := w.host(i)
	if err != nil {
		return err
	}
	return ipRun(context.Background(), "link", "set", h.netns, "up")
}

// BlockFromJump makes host i unreachable from this machine only (an
// unreachable route in the jump host's table); the other hosts still reach
// it over the bridge. Bastion tests use it to prove traffic went through a
// jump host.
func (w *World) BlockFromJump(i int) error {
	h, err := w.host(i)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.routed {
		return nil
	}
	if err := ipRun(context.Background(), "route", "add", "unreachable", h.IP+"/32"); err != nil {
		return err
	}
	h.routed = false
	return nil
}

// UnblockFromJump undoes BlockFromJump.
func (w *World) UnblockFromJump(i int) error {
	h, err := w.host(i)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.routed {
		return nil
	}
	if err := ipRun(context.Background(), "route", "del", "unreachable", h.IP+"/32"); err != nil {
		return err
	}
	h.routed = true
	return nil
}

// Restart reinstalls host i: its processes are killed, its filesystem is
// reset, and it comes back with the same name, address and MAC but a new
// host key (for "changed host key" tests).
func (w *World) Restart(ctx context.Context, i int) error {
	h, err := w.host(i)
	if err != nil {
		return err
	}
	if err := h.destroy(); err != nil {
		return fmt.Errorf("testhost: restarting %s: %w", h.Name, err)
	}
	if err := h.start(ctx); err != nil {
		return fmt.Errorf("testhost: restarting %s: %w", h.Name, err)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
