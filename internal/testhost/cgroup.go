package testhost

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// cgroupMount is one cgroup hierarchy of this machine: where it is mounted
// and where this process sits in it.
type cgroupMount struct {
	dir  string // mount point, e.g. /sys/fs/cgroup/memory
	self string // this process's cgroup in it, e.g. /
	v1   bool
	opts []string
}

// cgroupMounts lists the cgroup hierarchies (v1 controllers, the named
// systemd one, and the unified v2 tree, as this machine has them).
func cgroupMounts() ([]cgroupMount, error) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 || (b[0] != "cgroup" && b[0] != "cgroup2") {
			continue
		}
		m := cgroupMount{dir: a[4], v1: b[0] == "cgroup", opts: strings.Split(b[2], ",")}
		m.self = selfIn(string(own), m)
		out = append(out, m)
	}
	return out, sc.Err()
}

// selfIn finds this process's path in hierarchy m from /proc/self/cgroup
// ("4:memory:/a", "1:name=systemd:/", "0::/").
func selfIn(own string, m cgroupMount) string {
	for _, line := range strings.Split(own, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if !m.v1 {
			if parts[1] == "" {
				return parts[2]
			}
			continue
		}
		if parts[1] == "" {
			continue
		}
		all := true
		for _, c := range strings.Split(parts[1], ",") {
			if !contains(m.opts, c) {
				all = false
			}
		}
		if all {
			return parts[2]
		}
	}
	return "/"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// makeCgroups makes the host's cgroup (named after its netns) in every
// hierarchy, under this process's own, and returns their cgroup.procs files.
func (h *Host) makeCgroups() ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	var procs []string
	for _, m := range mounts {
		parent := filepath.Join(m.dir, m.self)
		dir := filepath.Join(parent, h.netns)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("making cgroup %s: %w", dir, err)
		}
		// A v1 cpuset takes no process before it has CPUs and memory nodes.
		if m.v1 && contains(m.opts, "cpuset") {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, err := os.ReadFile(filepath.Join(parent, f))
				if err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return nil, fmt.Errorf("setting %s of %s: %w", f, dir, err)
				}
			}
		}
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
	}
	return procs, nil
}

// removeCgroups removes, in every hierarchy, the cgroups whose name match
// says are a host's, with every cgroup made inside them (systemd's, kubelet's).
// A cgroup goes once its last process has exited: killed processes may take
// a moment.
func removeCgroups(match func(name string) bool) error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	var dirs []string
	for _, m := range mounts {
		// Hosts' cgroups sit under the cgroup of whichever process made
		// them: look a few levels down from the root.
		filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if match(d.Name()) && p != m.dir {
				filepath.WalkDir(p, func(q string, e fs.DirEntry, err error) error {
					if err == nil && e.IsDir() {
						dirs = append(dirs, q)
					}
					return nil
				})
				return filepath.SkipDir
			}
			if strings.Count(strings.TrimPrefix(p, m.dir), "/") >= 3 {
				return filepath.SkipDir
			}
			return nil
		})
	}
	// Deepest first: a cgroup with children cannot be removed.
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range dirs {
		for {
			err := syscall.Rmdir(d)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("removing cgroup %s: %w", d, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
