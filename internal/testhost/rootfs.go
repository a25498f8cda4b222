package testhost

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The root filesystem of systemd hosts: a minimal Debian, made once with
// debootstrap from the machine's Debian mirror and cached outside any clone
// (the lower layer of every host's overlay; hosts never write to it).
const (
	rootfsSuite = "bookworm"
	// rootfsPackages are what a Kubernetes host has besides the base:
	// systemd as init, sshd, and the tools kubeadm and kubelet call. No
	// container runtime: the image under test brings its own.
	rootfsPackages = "systemd,systemd-sysv,dbus,openssh-server,iptables,iproute2,ca-certificates," +
		"conntrack,socat,ethtool,kmod,procps,libseccomp2,curl,less"
)

// CacheDir is where test hosts keep what outlives a run (SEALPACK_CACHE,
// default /var/cache/sealpack).
func CacheDir() string {
	if d := os.Getenv("SEALPACK_CACHE"); d != "" {
		return d
	}
	return "/var/cache/sealpack"
}

// rootfsPath names the cached rootfs after what went into it, so a change
// of the package list makes a new one.
func rootfsPath() string {
	sum := sha256.Sum256([]byte(rootfsSuite + "\n" + rootfsPackages + "\n" + rootfsFixups))
	return filepath.Join(CacheDir(), "testhost", "debian-"+rootfsSuite+"-"+hex.EncodeToString(sum[:4]))
}

// rootfsFixups runs once in the new rootfs: no machine-id (each host gets
// its own), no shared ssh host keys, and a journal kept in memory so hosts
// stay small.
const rootfsFixups = `set -e
: > etc/machine-id
rm -f var/lib/dbus/machine-id etc/ssh/ssh_host_*
mkdir -p etc/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' > etc/systemd/journald.conf.d/spk.conf
# Stopping a host is a SIGKILL at teardown; services that ignore SIGTERM
# must not hold up a clean shutdown either.
mkdir -p etc/systemd/system.conf.d
printf '[Manager]\nDefaultTimeoutStopSec=10s\n' > etc/systemd/system.conf.d/spk.conf
`

// EnsureRootfs makes the systemd hosts' rootfs if it is not cached yet
// (about 3 minutes, most of it downloading packages) and returns its path.
// Concurrent callers wait for one debootstrap.
func EnsureRootfs(ctx context.Context) (string, error) {
	dir := rootfsPath()
	if fileExists(filepath.Join(dir, "usr/lib/systemd/systemd")) {
		return dir, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("testhost: systemd hosts need debootstrap (apt-get install debootstrap systemd-container)")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if fileExists(filepath.Join(dir, "usr/lib/systemd/systemd")) {
		return dir, nil // made by another process while we waited
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	mirror := debianMirror()
	fmt.Fprintf(os.Stderr, "testhost: making the systemd hosts' Debian %s rootfs with debootstrap from %s (once; cached in %s)\n", rootfsSuite, mirror, dir)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+rootfsPackages, rootfsSuite, tmp, mirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("testhost: debootstrap: %w: %s", err, tail(out))
	}
	fix := exec.CommandContext(ctx, "/bin/sh", "-c", rootfsFixups)
	fix.Dir = tmp
	if out, err := fix.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("testhost: preparing the rootfs: %w: %s", err, tail(out))
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "testhost: rootfs ready in %s\n", time.Since(start).Round(time.Second))
	return dir, nil
}

// debianMirror is the first Debian archive of this machine's apt sources:
// the only one it can reach.
func debianMirror() string {
	for _, f := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:" && !strings.Contains(fields[1], "security"):
				return fields[1]
			case len(fields) >= 3 && fields[0] == "deb":
				for _, f := range fields[1:] {
					if strings.Contains(f, "://") && !strings.Contains(f, "security") {
						return f
					}
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}
