package testhost

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Paths inside a host (in its overlay upper layer before it starts).
const (
	sshdConfigPath = "/etc/ssh/spk/sshd_config"
	hostKeyPath    = "/etc/ssh/spk/ssh_host_ed25519_key"
)

const sshdConfig = `# sshd of a sealpack test host (testhost package)
Port 22
ListenAddress 0.0.0.0
HostKey ` + hostKeyPath + `
PidFile /run/sshd.pid
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
# No PAM: its session modules (loginuid, systemd) fail inside a namespace;
# sshd then checks passwords against /etc/shadow itself.
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
MaxStartups 100:30:200
Subsystem sftp /usr/lib/openssh/sftp-server
`

// setupScript runs as PID 1 of the host's new PID namespace, inside its
// network namespace and a fresh mount namespace: it builds the host's root
// (an overlay of / plus fresh /proc, /sys, /dev, /run, /tmp), pivots into it
// and becomes sshd.
const setupScript = `set -eu
mount --make-rprivate /
M="$SPK_DIR/merged"
mount -t overlay spk-overlay -o "lowerdir=/,upperdir=$SPK_DIR/upper,workdir=$SPK_DIR/work" "$M"
mount -t proc proc "$M/proc"
mount -t sysfs -o ro sysfs "$M/sys"
mount -t tmpfs -o mode=755,size=16m spk-dev "$M/dev"
for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
	set -- $n
	mknod -m 666 "$M/dev/$1" c "$2" "$3"
done
mkdir "$M/dev/pts" "$M/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"
ln -s /proc/self/fd "$M/dev/fd"
ln -s /proc/self/fd/0 "$M/dev/stdin"
ln -s /proc/self/fd/1 "$M/dev/stdout"
ln -s /proc/self/fd/2 "$M/dev/stderr"
mount -t tmpfs -o mode=1777 spk-shm "$M/dev/shm"
mount -t tmpfs -o mode=755 spk-run "$M/run"
mkdir -p "$M/run/sshd" "$M/run/lock"
mount -t tmpfs -o mode=1777 spk-tmp "$M/tmp"
mount --bind "$SPK_DIR/containerd" "$M/var/lib/containerd"
hostname "$SPK_HOSTNAME"
cd "$M"
mkdir .spk-oldroot
pivot_root . .spk-oldroot
cd /
umount -l /.spk-oldroot
rmdir /.spk-oldroot
exec /usr/sbin/sshd -D -e -f ` + sshdConfigPath + `
`

// hostProc is a running host: PID 1 of its namespaces, seen from here.
type hostProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when PID 1 has been reaped
	// init is a systemd host's PID 1 (nspawn's child); cmd is nspawn.
	init int
}

func (w *World) newHost(i int) *Host {
	return &Host{
		Index:  i,
		Name:   fmt.Sprintf("host-%d", i+1),
		IP:     fmt.Sprintf("%s%d.%d", netPrefix, w.octet, firstIP+i),
		world:  w,
		netns:  hostNetns(w.octet, i),
		dir:    filepath.Join(w.dir, fmt.Sprintf("h%d", i+1)),
		routed: true,
	}
}

// start prepares the host's layers, network and sshd and waits until sshd
// answers with its banner.
func (h *Host) start(ctx context.Context) error {
	if h.world.opts.Systemd {
		return h.startSystemd(ctx)
	}
	if err := h.prepareDir(); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if err := h.plug(ctx); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if err := h.spawn(); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if err := h.waitReady(ctx); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if err := h.SetPassword(ctx, "root", h.world.opts.RootPassword); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	return nil
}

// prepareDir lays out the host's directory and pre-fills the overlay's upper
// layer: its sshd config and a new host key, /etc/hostname and /etc/hosts,
// an empty /root and the mount point for /var/lib/containerd.
func (h *Host) prepareDir() error {
	if err := os.RemoveAll(h.dir); err != nil {
		return err
	}
	upper := filepath.Join(h.dir, "upper")
	for _, d := range []string{"work", "merged", "containerd", "upper/etc/ssh/spk", "upper/var/lib/containerd"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			return err
		}
	}
	// An opaque /root hides the jump host's keys and known_hosts.
	rootHome := filepath.Join(upper, "root")
	if err := os.Mkdir(rootHome, 0o700); err != nil {
		return err
	}
	if err := syscall.Setxattr(rootHome, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("making /root opaque: %w", err)
	}
	block, err := h.newHostKey()
	if err != nil {
		return err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n%s\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", h.Name, h.IP, h.Name)
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{sshdConfigPath, []byte(sshdConfig), 0o644},
		{hostKeyPath, pem.EncodeToMemory(block), 0o600},
		{hostKeyPath + ".pub", gossh.MarshalAuthorizedKey(h.HostKey), 0o644},
		{"/etc/hostname", []byte(h.Name + "\n"), 0o644},
		{"/etc/hosts", []byte(hosts), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(upper, f.path), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts PID 1 of the host. The spawner's locked thread is its parent,
// so PID 1 (and with it every process of the host) is killed if this test
// process dies.
func (h *Host) spawn() error {
	logFile, err := os.Create(h.logPath())
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+h.netns, "--", "/bin/sh", "-c", setupScript)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SPK_DIR=" + h.dir,
		"SPK_HOSTNAME=" + h.Name,
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := h.world.spawner.start(cmd); err != nil {
		return fmt.Errorf("starting sshd: %w", err)
	}
	h.track(cmd)
	return nil
}

// track makes the started cmd the host's process, reaped when it exits.
func (h *Host) track(cmd *exec.Cmd) {
	p := &hostProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	h.mu.Lock()
	h.proc = p
	h.mu.Unlock()
}

func (h *Host) logPath() string { return filepath.Join(h.dir, "sshd.log") }

// SSHDLog returns what sshd logged so far (connections, authentications).
func (h *Host) SSHDLog() (string, error) {
	b, err := os.ReadFile(h.logPath())
	return string(b), err
}

// pid1 is the host's init as seen from this machine.
func (h *Host) pid1() (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil {
		return 0, fmt.Errorf("testhost: %s is not running", h.Name)
	}
	select {
	case <-h.proc.done:
		return 0, fmt.Errorf("testhost: %s has stopped (sshd log: %s)", h.Name, h.logTail())
	default:
	}
	if h.proc.init > 0 {
		return h.proc.init, nil
	}
	return h.proc.cmd.Process.Pid, nil
}

// waitReady waits until sshd sends its banner.
func (h *Host) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.world.opts.ReadyTimeout)
	defer cancel()
	for {
		h.mu.Lock()
		done := h.proc.done
		h.mu.Unlock()
		select {
		case <-done:
			return fmt.Errorf("sshd exited: %s", h.logTail())
		default:
		}
		if bannerOK(ctx, h.Addr()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sshd not answering on %s: %w (log: %s)", h.Addr(), ctx.Err(), h.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func bannerOK(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

func (h *Host) logTail() string {
	b, _ := os.ReadFile(h.logPath())
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

// destroy kills the host's processes and removes its network and files.
func (h *Host) destroy() error {
	h.mu.Lock()
	p := h.proc
	h.proc = nil
	h.mu.Unlock()
	var errs []error
	if h.world.opts.Systemd {
		errs = h.destroySystemd(p)
	} else if p != nil {
		// Killing PID 1 makes the kernel kill every process of the namespace.
		p.cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			errs = append(errs, fmt.Errorf("%s: PID 1 (%d) did not exit", h.Name, p.cmd.Process.Pid))
		}
	}
	h.mu.Lock()
	h.keepEgress()
	err := h.unplug()
	h.mu.Unlock()
	if err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(h.dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	return nil
}

// newHostKey makes the host a new ed25519 host key: it sets HostKey and
// returns the private key's PEM block for sshd.
func (h *Host) newHostKey() (*pem.Block, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, h.Name)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	h.HostKey = signer.PublicKey()
	return block, nil
}
