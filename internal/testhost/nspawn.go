package testhost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Systemd hosts (Options.Systemd) boot a real systemd as PID 1 with
// systemd-nspawn, over an overlay of the cached Debian rootfs (EnsureRootfs),
// inside the same network namespace and veth a plain host gets: what a
// Kubernetes host needs (units, journald, cgroups of its own) and the plain
// hosts cannot give.

// spkInit runs as the container's PID 1 first, then becomes systemd.
const spkInit = `#!/bin/sh
# PID 1 of a sealpack systemd test host until it execs systemd.
# nspawn mounts the cgroup v1 controllers read-only; containerd and kubelet
# make cgroups of their own in them.
for d in /sys/fs/cgroup/*; do
	if [ -d "$d" ] && mountpoint -q "$d"; then mount -o remount,bind,rw "$d" || true; fi
done
# kubelet sets these at start when they differ. They are the machine's, not
# the container's: it must find them already as it wants them.
for f in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops; do
	mount --bind "/etc/spk/sysctl/$(echo "$f" | tr / .)" "/proc/sys/$f"
done
exec /lib/systemd/systemd
`

// kubeletSysctls are the values kubelet wants of the machine-wide sysctls.
var kubeletSysctls = map[string]string{
	"vm.overcommit_memory": "1", "vm.panic_on_oom": "0", "kernel.panic": "10", "kernel.panic_on_oops": "1",
}

const systemdSSHDConfig = `# sshd of a sealpack systemd test host (testhost package)
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
# pam_loginuid cannot write the audit login uid inside a container.
UsePAM no
UseDNS no
PrintMotd no
LogLevel VERBOSE
MaxStartups 100:30:200
`

// prepareSystemdDir lays out the host's overlay: its upper layer gets the
// host's identity (hostname, machine-id, ssh host key), sshd's settings and
// the init script; /var/lib/containerd is a plain directory bound in, since
// containerd's overlay snapshots cannot live on an overlay.
func (h *Host) prepareSystemdDir() error {
	if err := os.RemoveAll(h.dir); err != nil {
		return err
	}
	upper := filepath.Join(h.dir, "upper")
	for _, d := range []string{"work", "merged", "containerd", "upper/etc/ssh/sshd_config.d", "upper/etc/spk/sysctl", "upper/var/lib/containerd"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			return err
		}
	}
	block, err := h.newHostKey()
	if err != nil {
		return err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", h.IP, h.Name)
	files := []struct {
		path string
		data string
		mode os.FileMode
	}{
		{"/etc/ssh/sshd_config.d/spk.conf", systemdSSHDConfig, 0o644},
		{"/etc/ssh/ssh_host_ed25519_key", string(pem.EncodeToMemory(block)), 0o600},
		{"/etc/ssh/ssh_host_ed25519_key.pub", string(gossh.MarshalAuthorizedKey(h.HostKey)), 0o644},
		{"/etc/hostname", h.Name + "\n", 0o644},
		{"/etc/hosts", hosts, 0o644},
		{"/etc/machine-id", hex.EncodeToString(id) + "\n", 0o444},
		{"/etc/spk/init", spkInit, 0o755},
	}
	for k, v := range kubeletSysctls {
		files = append(files, struct {
			path string
			data string
			mode os.FileMode
		}{"/etc/spk/sysctl/" + k, v + "\n", 0o444})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(upper, f.path), []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	return nil
}

// spawnSystemd mounts the host's overlay and boots it with systemd-nspawn,
// in cgroups of its own (made here, in every hierarchy, under this
// process's) so that systemd inside sees a cgroup tree it may manage.
func (h *Host) spawnSystemd(ctx context.Context, rootfs string) error {
	// The host's own network namespace forwards, as a router does; the
	// bridge hooks let kube-proxy's rules see bridged pod traffic.
	for _, kv := range []string{"net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"} {
		k, v, _ := strings.Cut(kv, "=")
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", h.netns, "sh", "-c", "echo "+v+" > "+p).CombinedOutput(); err != nil {
			return fmt.Errorf("setting %s: %w: %s", kv, err, strings.TrimSpace(string(out)))
		}
	}
	merged := filepath.Join(h.dir, "merged")
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", rootfs, filepath.Join(h.dir, "upper"), filepath.Join(h.dir, "work"))
	if err := syscall.Mount("spk-overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting the host's overlay: %w", err)
	}
	procs, err := h.makeCgroups()
	if err != nil {
		return err
	}
	logFile, err := os.Create(h.logPath())
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"--quiet", "--keep-unit", "--register=no", "-D", merged, "-M", h.Name,
		"--network-namespace-path=/run/netns/" + h.netns,
		"--capability=all", "--system-call-filter=@known",
		"--bind=/dev/kmsg", "--bind=" + filepath.Join(h.dir, "containerd") + ":/var/lib/containerd",
		"--resolv-conf=off", "--timezone=off", "--link-journal=no",
		"--console=read-only", "--kill-signal=SIGRTMIN+3", "/etc/spk/init"}
	// The launcher joins the host's cgroups, then becomes nspawn.
	launch := `for f in $SPK_CGROUPS; do echo $$ > "$f"; done; exec systemd-nspawn "$@"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", launch, "spk-launch"}, args...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SPK_CGROUPS=" + strings.Join(procs, " ")}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGTERM: nspawn then halts the container (a SIGKILL would leave it
	// running, for Cleanup to find).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := h.world.spawner.start(cmd); err != nil {
		return fmt.Errorf("starting systemd-nspawn: %w", err)
	}
	h.track(cmd)
	return nil
}

// findInit waits for the container's PID 1: the child of nspawn that lives
// in a PID namespace of its own.
func (h *Host) findInit(ctx context.Context) error {
	h.mu.Lock()
	p := h.proc
	h.mu.Unlock()
	self, _ := os.Readlink("/proc/self/ns/pid")
	for {
		for _, pid := range childrenOf(p.cmd.Process.Pid) {
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns != self {
				h.mu.Lock()
				p.init = pid
				h.mu.Unlock()
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("systemd-nspawn exited: %s", h.logTail())
		case <-ctx.Done():
			return fmt.Errorf("no container init under systemd-nspawn: %w (log: %s)", ctx.Err(), h.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitSystemd waits until systemd inside has booted: running, or degraded
// (a unit that cannot work in a container is not the test's concern).
func (h *Host) waitSystemd(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := h.Exec(ctx, "systemctl is-system-running --wait || true")
	state := strings.TrimSpace(string(out))
	if err != nil || (state != "running" && state != "degraded") {
		failed, _ := h.Exec(context.Background(), "systemctl --failed --no-legend --plain 2>&1 | head -5")
		return fmt.Errorf("systemd did not finish booting (state %q, %w; failed units: %s)", state, err, strings.TrimSpace(string(failed)))
	}
	return nil
}

func childrenOf(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndex(s, ") ")
		if i < 0 {
			continue
		}
		var state string
		var parent int
		if _, err := fmt.Sscanf(s[i+2:], "%s %d", &state, &parent); err == nil && parent == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// destroySystemd stops a systemd host: SIGKILL to its init takes every
// process of its PID namespace (pods included) along; then its overlay and
// cgroups go.
func (h *Host) destroySystemd(p *hostProc) []error {
	var errs []error
	if p != nil {
		if p.init > 0 {
			syscall.Kill(p.init, syscall.SIGKILL)
		}
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Signal(syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				errs = append(errs, fmt.Errorf("%s: systemd-nspawn (%d) did not exit", h.Name, p.cmd.Process.Pid))
			}
		}
	}
	if err := unmountUnder(h.dir); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(func(n string) bool { return n == h.netns }); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// startSystemd boots the host and waits until sshd answers and systemd has
// finished booting.
func (h *Host) startSystemd(ctx context.Context) error {
	steps := []struct {
		what string
		fn   func() error
	}{
		{"preparing", h.prepareSystemdDir},
		{"network", func() error { return h.plug(ctx) }},
		{"boot", func() error { return h.spawnSystemd(ctx, h.world.rootfs) }},
		{"boot", func() error {
			c, cancel := context.WithTimeout(ctx, h.world.opts.ReadyTimeout)
			defer cancel()
			return h.findInit(c)
		}},
		{"sshd", func() error { return h.waitReady(ctx) }},
		{"systemd", func() error { return h.waitSystemd(ctx) }},
		{"root password", func() error { return h.SetPassword(ctx, "root", h.world.opts.RootPassword) }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s (systemd host): %s: %w", h.Name, s.what, err)
		}
	}
	return nil
}
