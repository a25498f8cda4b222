package testhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The owner file in a world's directory names the process that runs it
// (pid and start time, so a recycled pid is not mistaken for it).
const ownerFile = "owner"

func writeOwner(dir string) error {
	id, err := procIdentity(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(id), 0o600)
}

// procIdentity is "pid starttime" of a live process.
func procIdentity(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// Fields after the command (which may hold spaces) start after ") ".
	s := string(b)
	i := strings.LastIndex(s, ") ")
	if i < 0 {
		return "", fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 20 {
		return "", fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return fmt.Sprintf("%d %s", pid, f[19]), nil // field 22: starttime
}

// ownerAlive tells whether the process that created a world still runs.
func ownerAlive(octet int) bool { return ownerAliveIn(worldDir(octet)) }

func ownerAliveIn(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return false
	}
	id, err := procIdentity(pid)
	return err == nil && id == string(b)
}

// Cleanup removes every world whose owning process is gone: processes,
// network namespaces, veths, bridges, routes and directories named spk-.
// Worlds of live processes (other test binaries running now) are kept.
func Cleanup() error {
	octets := map[int]bool{}
	if ents, err := os.ReadDir(baseDir); err == nil {
		for _, e := range ents {
			if n, ok := octetOf(e.Name(), ""); ok {
				octets[n] = true
			}
			// A claim cut short by a crash (one still being made has
			// its owner file, or will be gone at once).
			if dir := filepath.Join(baseDir, e.Name()); strings.HasPrefix(e.Name(), claimPrefix) && !ownerAliveIn(dir) {
				if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
					os.RemoveAll(dir)
				}
			}
		}
	}
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			if n, ok := octetOf(e.Name(), ""); ok {
				octets[n] = true
			}
		}
	}
	if ents, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range ents {
			if n, ok := octetOf(e.Name(), "b"); ok {
				octets[n] = true
			} else if n, ok := octetOf(e.Name(), ""); ok {
				octets[n] = true
			}
		}
	}
	var errs []error
	for octet := range octets {
		if ownerAlive(octet) {
			continue
		}
		if err := removeWorld(octet); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// octetOf parses the world id out of "spk-<kind><octet>" or "spk-<octet>-...".
func octetOf(name, kind string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix+kind)
	if !ok {
		return 0, false
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		if kind != "" {
			return 0, false
		}
		rest = rest[:i]
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > 254 {
		return 0, false
	}
	return n, true
}

// removeWorld removes everything named after world octet, claim dir last.
func removeWorld(octet int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	hostPrefix := fmt.Sprintf("%s%d-", prefix, octet)
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), hostPrefix) {
				continue
			}
			if err := killNetnsPids(e.Name()); err != nil {
				errs = append(errs, err)
			}
			// Another test process may be removing the same dead world.
			if err := ipRun(ctx, "netns", "del", e.Name()); err != nil && fileExists(filepath.Join("/run/netns", e.Name())) {
				errs = append(errs, err)
			}
		}
	}
	if ents, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, hostPrefix) || name == bridgeName(octet) {
				if err := ipRun(ctx, "link", "del", name); err != nil && linkExists(name) {
					errs = append(errs, err)
				}
			}
		}
	}
	if out, err := ipOutput(ctx, "-4", "route", "show", "type", "unreachable"); err == nil {
		net := fmt.Sprintf("%s%d.", netPrefix, octet)
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "unreachable" && strings.HasPrefix(f[1], net) {
				if err := ipRun(ctx, "route", "del", "unreachable", f[1]); err != nil && routeExists(ctx, f[1]) {
					errs = append(errs, err)
				}
			}
		}
	}
	// Systemd hosts leave overlays mounted in their directories and
	// cgroups named after their namespaces.
	if err := unmountUnder(worldDir(octet)); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(func(n string) bool { return strings.HasPrefix(n, hostPrefix) }); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(worldDir(octet)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killNetnsPids kills every process living in a network namespace and waits
// (briefly) until none is left; killed processes can linger as zombies.
func killNetnsPids(netns string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := ipOutput(context.Background(), "netns", "pids", netns)
		if err != nil {
			return nil // the namespace is gone, and its processes with it
		}
		pids := strings.Fields(string(out))
		live := 0
		for _, p := range pids {
			pid, err := strconv.Atoi(p)
			if err != nil || isZombie(pid) {
				continue
			}
			live++
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if live == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns %s: processes %v still alive", netns, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // gone
	}
	s := string(b)
	i := strings.LastIndex(s, ") ")
	return i >= 0 && strings.HasPrefix(s[i+2:], "Z")
}

// routeExists tells whether an unreachable route to dst is still there.
func routeExists(ctx context.Context, dst string) bool {
	out, err := ipOutput(ctx, "-4", "route", "show", "type", "unreachable", dst)
	return err != nil || strings.TrimSpace(string(out)) != ""
}
