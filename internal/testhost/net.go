package testhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Names and addresses. A world is identified by the third octet X of its
// subnet 10.251.X.0/24; every name it creates carries it:
//
//	/tmp/spk-X/           claim directory (owner, per-host dirs), made first, removed last
//	spk-bX                the bridge (jump host: 10.251.X.1)
//	spk-X-N               host N's network namespace and its veth end on the bridge
//
// The directory lives under /tmp on purpose: hosts mount a fresh /tmp, so
// no host sees another's overlay layers through the shared lower layer.
const (
	prefix  = "spk-"
	baseDir = "/tmp"
	// claimPrefix names a world's directory while it is being made.
	claimPrefix = ".spk-claim-"
	netPrefix   = "10.251."
	firstIP     = 11 // host-1 is 10.251.X.11
	maxHosts    = 200
)

func worldDir(octet int) string   { return filepath.Join(baseDir, fmt.Sprintf("%s%d", prefix, octet)) }
func bridgeName(octet int) string { return fmt.Sprintf("%sb%d", prefix, octet) }
func hostNetns(octet, i int) string {
	return fmt.Sprintf("%s%d-%d", prefix, octet, i+1)
}

// hostMAC is fixed per world and host: a re-created host keeps its MAC, so
// the jump host's ARP cache never points at a vanished interface.
func hostMAC(octet, i int) string { return fmt.Sprintf("02:73:70:%02x:%02x:%02x", octet, i>>8, i&0xff) }
func peerMAC(octet, i int) string { return fmt.Sprintf("02:73:71:%02x:%02x:%02x", octet, i>>8, i&0xff) }

// claim picks a free subnet and takes it by creating the world's directory
// (an atomic step, so concurrent test processes never share a subnet).
func (w *World) claim() error {
	used, err := usedPrefixes()
	if err != nil {
		return err
	}
	start := os.Getpid()%200 + 20
	for k := 0; k < 254; k++ {
		octet := (start+k)%254 + 1
		p := netip.MustParsePrefix(fmt.Sprintf("%s%d.0/24", netPrefix, octet))
		if overlapsAny(p, used) {
			continue
		}
		dir := worldDir(octet)
		if _, err := os.Stat(dir); err == nil {
			continue // another live world (Cleanup already removed dead ones)
		}
		// The directory appears with its owner file in one rename: a
		// Cleanup in another test process never sees it ownerless.
		tmp, err := os.MkdirTemp(baseDir, claimPrefix)
		if err != nil {
			return fmt.Errorf("testhost: claiming %s: %w", dir, err)
		}
		if err := writeOwner(tmp); err != nil {
			os.RemoveAll(tmp)
			return err
		}
		if err := os.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp)
			if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
				continue // taken by another process just now
			}
			return fmt.Errorf("testhost: claiming %s: %w", dir, err)
		}
		w.octet, w.dir, w.bridge = octet, dir, bridgeName(octet)
		w.Subnet = p.String()
		w.JumpIP = fmt.Sprintf("%s%d.1", netPrefix, octet)
		return nil
	}
	return errors.New("testhost: no free 10.251.X.0/24 subnet")
}

// usedPrefixes lists the IPv4 networks of this machine's addresses and routes.
func usedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, args := range [][]string{{"-4", "-o", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
		text, err := ipOutput(context.Background(), args...)
		if err != nil {
			return nil, err
		}
		for _, f := range strings.Fields(string(text)) {
			if p, err := netip.ParsePrefix(f); err == nil && p.Addr().Is4() {
				out = append(out, p.Masked())
			} else if a, err := netip.ParseAddr(f); err == nil && a.Is4() && !a.IsUnspecified() {
				out = append(out, netip.PrefixFrom(a, 32))
			}
		}
	}
	return out, nil
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		// A default route (0/0) overlaps everything and says nothing.
		if u.Bits() > 0 && u.Overlaps(p) {
			return true
		}
	}
	return false
}

func (w *World) createBridge(ctx context.Context) error {
	batch := fmt.Sprintf("link add %s type bridge forward_delay 0 stp_state 0\n"+
		"addr add %s/24 dev %s\n"+
		"link set %s up\n", w.bridge, w.JumpIP, w.bridge, w.bridge)
	if err := ipBatch(ctx, "", batch); err != nil {
		return fmt.Errorf("testhost: creating bridge %s: %w", w.bridge, err)
	}
	return nil
}

// plugHost creates host i's namespace and veth pair; eth0 inside gets the
// host's address and no default route, so nothing leaves the bridge.
func (h *Host) plug(ctx context.Context) error {
	w := h.world
	if err := ipRun(ctx, "netns", "add", h.netns); err != nil {
		return err
	}
	root := fmt.Sprintf("link add %s address %s type veth peer name eth0 address %s netns %s\n"+
		"link set %s master %s up\n",
		h.netns, peerMAC(w.octet, h.Index), hostMAC(w.octet, h.Index), h.netns, h.netns, w.bridge)
	if err := ipBatch(ctx, "", root); err != nil {
		return err
	}
	inside := fmt.Sprintf("addr add %s/24 dev eth0\nlink set eth0 up\nlink set lo up\n", h.IP)
	return ipBatch(ctx, h.netns, inside)
}

// unplug removes host i's namespace and veth (deleting either end of a
// veth pair deletes both; the namespace may already have taken it along).
func (h *Host) unplug() error {
	ctx := context.Background()
	var errs []error
	if fileExists(filepath.Join("/run/netns", h.netns)) {
		if err := ipRun(ctx, "netns", "del", h.netns); err != nil {
			errs = append(errs, err)
		}
	}
	if linkExists(h.netns) {
		if err := ipRun(ctx, "link", "del", h.netns); err != nil && linkExists(h.netns) {
			errs = append(errs, err)
		}
	}
	if !h.routed {
		if err := ipRun(ctx, "route", "del", "unreachable", h.IP+"/32"); err != nil {
			errs = append(errs, err)
		}
		h.routed = true
	}
	return errors.Join(errs...)
}

func linkExists(name string) bool {
	return fileExists(filepath.Join("/sys/class/net", name))
}

func ipRun(ctx context.Context, args ...string) error {
	_, err := ipOutput(ctx, args...)
	return err
}

func ipOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// ipBatch runs several ip commands in one process (in netns when not empty).
func ipBatch(ctx context.Context, netns, batch string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(batch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch (%s): %w: %s", strings.ReplaceAll(strings.TrimSpace(batch), "\n", "; "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
