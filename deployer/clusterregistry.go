package deployer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// The cluster's own registry: every master runs the installer program in
// registry mode over its own copy of the installer, so the carried images
// stay pullable once the jump host has left. It serves what it carries and
// nothing else, read-only, with the same code that serves them during the
// install.
const (
	// ClusterRegistryPort is where each master serves the images unless
	// the Clusterfile's spec.registry.port says otherwise.
	ClusterRegistryPort = clusterfile.DefaultRegistryPort
	clusterRegistryDir  = stateDir + "/registry"
	clusterRegistryUnit = "sealpack-registry.service"
	clusterRegistryPID  = clusterRegistryDir + "/registry.pid"
	clusterRegistryExe  = clusterRegistryDir + "/installer.run"
	clusterRegistryCert = clusterRegistryDir + "/tls/server.crt"
	clusterRegistryKey  = clusterRegistryDir + "/tls/server.key"
)

// installerCopy is the installer file (and its split parts) that seeds the
// masters' registries, hashed once per run.
type installerCopy struct {
	files []string
	once  sync.Once
	sums  []string
	err   error
}

// size is the bytes a master's copy takes.
func (ic *installerCopy) size() int64 {
	var n int64
	for _, f := range ic.files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

func (ic *installerCopy) digests() ([]string, error) {
	ic.once.Do(func() {
		for _, f := range ic.files {
			fh, err := os.Open(f)
			if err != nil {
				ic.err = err
				return
			}
			h := sha256.New()
			_, err = io.Copy(h, fh)
			fh.Close()
			if err != nil {
				ic.err = fmt.Errorf("reading %s: %w", f, err)
				return
			}
			ic.sums = append(ic.sums, hex.EncodeToString(h.Sum(nil)))
		}
	})
	return ic.sums, ic.err
}

// clusterRegistries are the registry addresses every host's containerd
// lists as mirrors after the installer's own: one per master.
func (r *run) clusterRegistries() []string {
	if len(r.opts.Installer) == 0 {
		return nil
	}
	return r.cluster.RegistryAddrs()
}

// mirrors are the registries host ip's containerd pulls through: the
// installer's own at forward, then every master's, checked against the
// cluster's CA, which is installed on the host for that (unless the
// Clusterfile asks for plain HTTP).
func (r *run) mirrors(ctx context.Context, ip, forward string) ([]mirror, error) {
	out := []mirror{{addr: forward}}
	regs := r.clusterRegistries()
	if len(regs) == 0 {
		return out, nil
	}
	ca := ""
	if !r.cluster.Registry.Insecure {
		rca, err := r.registryCA()
		if err != nil {
			return nil, err
		}
		if err := r.putFile(ctx, ip, rca.certPEM, hostCAPath, 0o644); err != nil {
			return nil, fmt.Errorf("installing the registry CA: %w", err)
		}
		ca = hostCAPath
	}
	for _, reg := range regs {
		out = append(out, mirror{addr: reg, ca: ca})
	}
	return out, nil
}

// seedRegistry copies the installer to master ip (skipped when the copy
// there has the same sha256; a cut copy resumes), then (re)starts its
// registry service and waits until it answers.
func (r *run) seedRegistry(ctx context.Context, ip string) error {
	c := r.conn(ip)
	if c == nil {
		return fmt.Errorf("host %s: not connected (the run lost its connection; run the same command again)", ip)
	}
	sums, err := r.installer.digests()
	if err != nil {
		return err
	}
	// Split parts keep their suffix (".001") beside the copy, where the
	// payload reader looks for them.
	for i, local := range r.opts.Installer {
		dest := clusterRegistryExe + strings.TrimPrefix(local, r.opts.Installer[0])
		if err := copyWhole(ctx, c, local, dest, sums[i]); err != nil {
			return fmt.Errorf("seeding the registry on %s: %w", ip, err)
		}
	}
	tlsArgs := ""
	if !r.cluster.Registry.Insecure {
		ca, err := r.registryCA()
		if err != nil {
			return err
		}
		certPEM, keyPEM, err := ca.serverCert(ip)
		if err != nil {
			return fmt.Errorf("a certificate for the registry on %s: %w", ip, err)
		}
		if err := r.putFile(ctx, ip, certPEM, clusterRegistryCert, 0o644); err != nil {
			return err
		}
		if err := r.putFile(ctx, ip, keyPEM, clusterRegistryKey, 0o600); err != nil {
			return err
		}
		tlsArgs = " --tls-cert " + clusterRegistryCert + " --tls-key " + clusterRegistryKey
	}
	script := fmt.Sprintf(registryStartScript, shq(clusterRegistryExe), r.cluster.RegistryPort(), clusterRegistryUnit, clusterRegistryPID, clusterRegistryDir, tlsArgs)
	if _, err := r.exec(ctx, event.Registry, ip, script, nil); err != nil {
		return fmt.Errorf("starting the cluster registry on %s: %w", ip, err)
	}
	return nil
}

// registryCA is the cluster's registry CA, made on first use and kept in
// the state directory.
func (r *run) registryCA() (*registryCA, error) {
	r.caOnce.Do(func() { r.ca, r.caErr = loadOrMakeCA(r.opts.StateDir, r.cluster.Name) })
	return r.ca, r.caErr
}

// copyWhole puts the local file at dest on the host unless it is there
// with sum already; a partial copy from an earlier run is resumed.
func copyWhole(ctx context.Context, c Remote, local, dest, sum string) error {
	out, err := c.Run(ctx, fmt.Sprintf(`f=%s
if [ -f "$f" ] && [ "$(sha256sum < "$f" | cut -c1-64)" = %s ]; then echo have; else stat -c %%s "$f%s" 2>/dev/null || echo 0; fi`, shq(dest), sum, partSuffix), nil, nil)
	if err != nil {
		return err
	}
	out = strings.TrimSpace(out)
	if out == "have" {
		return nil
	}
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	off, _ := strconv.ParseInt(out, 10, 64)
	if off > st.Size() {
		off = 0
	}
	if err := c.WriteFile(ctx, io.NewSectionReader(f, off, st.Size()-off), dest+partSuffix, 0o755, off); err != nil {
		return err
	}
	got, err := c.Run(ctx, "sha256sum < "+shq(dest+partSuffix)+" | cut -c1-64", nil, nil)
	if err != nil {
		return err
	}
	if strings.TrimSpace(got) != sum {
		c.Run(ctx, "rm -f "+shq(dest+partSuffix), nil, nil)
		return fmt.Errorf("the copy of %s differs from the original (sha256 %s, want %s); it was removed, run again", filepath.Base(local), strings.TrimSpace(got), sum)
	}
	return c.Rename(ctx, dest+partSuffix, dest)
}

// registryStartScript runs the registry as a systemd unit where systemd is
// PID 1, else as a background process with a pid file; then waits until it
// answers. %[1]s installer, %[2]d port, %[3]s unit, %[4]s pid file, %[5]s dir,
// %[6]s the TLS flags (empty: plain HTTP).
const registryStartScript = `set -e
exe=%[1]s
if [ -d /run/systemd/system ]; then
	cat > /etc/systemd/system/%[3]s <<SEALPACK_EOF
# written by sealpack: the cluster's images, served read-only from the installer's own copy
[Unit]
Description=sealpack cluster registry
After=network-online.target
Before=containerd.service kubelet.service

[Service]
ExecStart=$exe registry --addr 0.0.0.0:%[2]d%[6]s
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
SEALPACK_EOF
	systemctl daemon-reload
	systemctl enable %[3]s >/dev/null 2>&1
	systemctl restart %[3]s
else
	if [ -f %[4]s ]; then kill "$(cat %[4]s)" 2>/dev/null || true; fi
	setsid "$exe" registry --addr 0.0.0.0:%[2]d%[6]s > %[5]s/registry.log 2>&1 < /dev/null &
	echo $! > %[4]s
fi
i=0
until bash -c 'exec 3<>/dev/tcp/127.0.0.1/%[2]d' 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ]; then
		echo "the registry does not answer on port %[2]d after 30 s" >&2
		{ journalctl -u %[3]s -n 10 --no-pager 2>/dev/null || tail -5 %[5]s/registry.log; } >&2
		exit 1
	fi
	sleep 0.2
done
`

// registryStopScript undoes registryStartScript (for reset).
const registryStopScript = `if [ -f /etc/systemd/system/` + clusterRegistryUnit + ` ] && grep -qs 'written by sealpack' /etc/systemd/system/` + clusterRegistryUnit + `; then
	systemctl disable --now ` + clusterRegistryUnit + ` >/dev/null 2>&1 || true
	rm -f /etc/systemd/system/` + clusterRegistryUnit + `
	systemctl daemon-reload || true
fi
if [ -f ` + clusterRegistryPID + ` ]; then kill "$(cat ` + clusterRegistryPID + `)" 2>/dev/null || true; fi
`
