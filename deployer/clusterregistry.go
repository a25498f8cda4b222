package deployer

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
	"golang.org/x/crypto/bcrypt"
)

// The cluster's own registry: every master runs the installer program in
// registry mode over an OCI image layout seeded with the carried images, so
// they stay pullable once the jump host has left. It serves what it was
// seeded with and nothing else, read-only, with the same code that serves
// them during the install.
const (
	// ClusterRegistryPort is where each master serves the images unless
	// the Clusterfile's spec.registry.port says otherwise.
	ClusterRegistryPort = clusterfile.DefaultRegistryPort
	clusterRegistryDir  = stateDir + "/registry"
	clusterRegistryUnit = "sealpack-registry.service"
	clusterRegistryPID  = clusterRegistryDir + "/registry.pid"
	// clusterRegistryExe is the installer program alone, without its payload.
	clusterRegistryExe    = "/usr/local/bin/sealpack-registry"
	clusterRegistryLayout = clusterRegistryDir + "/layout"
	clusterRegistryCert   = clusterRegistryDir + "/tls/server.crt"
	clusterRegistryKey    = clusterRegistryDir + "/tls/server.key"
	// clusterRegistryHtpasswd holds spec.registry.username's bcrypt hash.
	clusterRegistryHtpasswd = clusterRegistryDir + "/htpasswd"
)

// layoutFiles are the files a master's registry serves: the payload's OCI
// layout (images/), with paths relative to the layout, as the build stored
// them. index.json comes last, so that a layout is only ever served whole.
func (r *run) layoutFiles() []payload.File {
	var blobs, meta []payload.File
	for _, f := range r.opts.Payload.Index().Files {
		rel, ok := strings.CutPrefix(f.Path, imagesDir)
		if !ok || f.Type != payload.TypeFile {
			continue
		}
		f.Path = rel
		if strings.HasPrefix(rel, "blobs/") {
			blobs = append(blobs, f)
		} else {
			meta = append(meta, f)
		}
	}
	return append(blobs, meta...)
}

// seedBytes is what a master's registry takes on disk: its blobs and the
// program that serves them.
func (r *run) seedBytes() int64 {
	return sizeOf(r.layoutFiles()) + r.opts.Payload.Index().StubSize
}

// inClusterRegistry reports whether the masters serve the images.
func (r *run) inClusterRegistry() bool {
	return r.opts.ClusterRegistry && r.cluster.Registry.External == nil && len(r.opts.Payload.Index().Images) > 0
}

// siteRegistry is the site's registry the images go to instead
// (spec.registry.externalRegistry), nil when there is none or this run
// serves no images after it ends.
func (r *run) siteRegistry() *clusterfile.ExternalRegistry {
	if !r.opts.ClusterRegistry {
		return nil
	}
	return r.cluster.Registry.External
}

// clusterRegistries are the registry addresses every host's containerd
// lists as mirrors after the installer's own: one per master, but for the
// masters this run deletes.
func (r *run) clusterRegistries() []string {
	if !r.inClusterRegistry() {
		return nil
	}
	var out []string
	for _, m := range r.cluster.Masters() {
		if !r.leaving[m.IP] {
			out = append(out, net.JoinHostPort(m.IP, strconv.Itoa(r.cluster.RegistryPort())))
		}
	}
	return out
}

// mirrors are the registries a host's containerd pulls through: the
// installer's own at forward (none when empty), then every master's,
// checked against the cluster's CA (unless the Clusterfile asks for plain
// HTTP); or the site's registry alone. putRegistryCAs installs the CAs
// they name.
func (r *run) mirrors(forward string) []mirror {
	if e := r.siteRegistry(); e != nil {
		m := mirror{addr: e.Addr(), tls: true}
		if e.CA != "" {
			m.ca = externalCAPath
		}
		return []mirror{m}
	}
	var out []mirror
	if forward != "" {
		out = append(out, mirror{addr: forward})
	}
	ca := ""
	if !r.cluster.Registry.Insecure {
		ca = hostCAPath
	}
	for _, reg := range r.clusterRegistries() {
		out = append(out, mirror{addr: reg, tls: !r.cluster.Registry.Insecure, ca: ca})
	}
	return out
}

// putRegistryCAs installs on host ip the CA its mirrors are checked
// against: the cluster's, or the one the Clusterfile names for the site's
// registry.
func (r *run) putRegistryCAs(ctx context.Context, ip string) error {
	if e := r.siteRegistry(); e != nil {
		if e.CA == "" {
			return nil
		}
		pem, err := os.ReadFile(e.CA)
		if err != nil {
			return fmt.Errorf("spec.registry.externalRegistry.ca: %w", err)
		}
		if err := r.putFile(ctx, ip, pem, externalCAPath, 0o644); err != nil {
			return fmt.Errorf("installing the site registry's CA: %w", err)
		}
		return nil
	}
	if len(r.clusterRegistries()) == 0 || r.cluster.Registry.Insecure {
		return nil
	}
	rca, err := r.registryCA()
	if err != nil {
		return err
	}
	if err := r.putFile(ctx, ip, rca.certPEM, hostCAPath, 0o644); err != nil {
		return fmt.Errorf("installing the registry CA: %w", err)
	}
	return nil
}

// seedRegistry copies the installer program and the carried images' blobs,
// as stored, to master ip (what is there already is kept, an interrupted
// copy resumes, every copy is checked against its digest), then (re)starts
// its registry service and waits until it answers.
func (r *run) seedRegistry(ctx context.Context, ip string) error {
	progSent, err := r.copyProgram(ctx, event.Registry, ip, clusterRegistryExe)
	if err != nil {
		return fmt.Errorf("seeding the registry: %w", err)
	}
	files := r.layoutFiles()
	tc, err := r.copyTree(ctx, event.Registry, ip, clusterRegistryLayout, files, func(int64) {})
	if err != nil {
		return fmt.Errorf("seeding the registry on %s: %w", ip, err)
	}
	r.opts.Stats.addSeed(progSent, tc.sent)
	r.logs.Printf(event.Registry, ip, "%d of %d image files copied (%s), the rest were already there", tc.copied, len(files), payload.HumanBytes(tc.sent))
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
	if u := r.cluster.Registry.Username; u != "" {
		if r.cluster.Registry.Password == "" {
			return fmt.Errorf("spec.registry.password: missing for user %s: give it in the Clusterfile or in SEALPACK_REGISTRY_PASSWORD", u)
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(r.cluster.Registry.Password), bcrypt.DefaultCost)
		if err != nil {
			return fmt.Errorf("spec.registry.password: %w", err)
		}
		if err := r.putFile(ctx, ip, []byte(u+":"+string(hash)+"\n"), clusterRegistryHtpasswd, 0o600); err != nil {
			return err
		}
		tlsArgs += " --htpasswd " + clusterRegistryHtpasswd
	} else if _, err := r.exec(ctx, event.Registry, ip, "rm -f "+clusterRegistryHtpasswd, nil); err != nil {
		return err
	}
	script := fmt.Sprintf(registryStartScript, shell.Quote(clusterRegistryExe), r.cluster.RegistryPort(), clusterRegistryUnit, clusterRegistryPID, clusterRegistryDir, tlsArgs, clusterRegistryLayout)
	if _, err := r.exec(ctx, event.Registry, ip, script, nil); err != nil {
		return fmt.Errorf("starting the cluster registry on %s: %w", ip, err)
	}
	return nil
}

// refreshMirrors rewrites, once the masters' registries serve, the mirrors
// of the hosts this run worked on without the installer's own registry (it
// goes away with the installer; a node must not try a port of its loopback
// that something else may hold by then), and, when the run added or deleted
// masters, those of every other host, so that each lists exactly the
// masters' registries that exist.
func (r *run) refreshMirrors(ctx context.Context, phase string) error {
	if !r.inClusterRegistry() {
		return nil
	}
	mastersChanged := false
	for _, ip := range r.targets {
		mastersChanged = mastersChanged || r.host(ip).IsMaster()
	}
	var hosts []string
	for _, h := range r.hosts {
		mine := slices.Contains(r.targets, h.IP)
		if (mine && !r.leaving[h.IP]) || (!mine && mastersChanged) {
			hosts = append(hosts, h.IP)
		}
	}
	return parallel(ctx, hosts, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		script := "set -e\n" + mirrorScript(registryHosts(r.opts.Payload), r.mirrors("")) + r.registryNameScript(ip)
		if _, err := r.exec(ctx, phase, ip, script, nil); err != nil {
			return fmt.Errorf("host %s: updating its registry mirrors to %s: %w", ip, strings.Join(r.clusterRegistries(), ", "), err)
		}
		r.logs.Printf(phase, ip, "mirrors now: %s", strings.Join(r.clusterRegistries(), ", "))
		return nil
	})
}

// registryNameScript points the name sealpack.registry (in the masters'
// certificates) at the host itself on a master, else at the first master
// that stays, in /etc/hosts; the line is marked so that reset finds it.
func (r *run) registryNameScript(ip string) string {
	target := ""
	if r.host(ip).IsMaster() && !r.leaving[ip] {
		target = ip
	} else if regs := r.clusterRegistries(); len(regs) > 0 {
		target, _, _ = net.SplitHostPort(regs[0])
	}
	if target == "" {
		return ""
	}
	return hostsLineScript(RegistryName, target)
}

// hostsMark ends the /etc/hosts line that sealpack writes.
const hostsMark = "# written by sealpack"

// registryCA is the cluster's registry CA, made on first use and kept in
// the state directory.
func (r *run) registryCA() (*registryCA, error) {
	r.caOnce.Do(func() { r.ca, r.caErr = loadOrMakeCA(r.opts.StateDir, r.cluster.Name) })
	return r.ca, r.caErr
}

// registryStartScript runs the registry as a systemd unit where systemd is
// PID 1, else as a background process with a pid file; then waits until it
// answers. %[1]s installer, %[2]d port, %[3]s unit, %[4]s pid file, %[5]s dir,
// %[6]s the TLS flags (empty: plain HTTP), %[7]s the layout.
const registryStartScript = `set -e
exe=%[1]s
if [ -d /run/systemd/system ]; then
	cat > /etc/systemd/system/%[3]s <<SEALPACK_EOF
# written by sealpack: the cluster's images, served read-only
[Unit]
Description=sealpack cluster registry
After=network-online.target
Before=containerd.service kubelet.service

[Service]
ExecStart=$exe registry --layout %[7]s --addr 0.0.0.0:%[2]d%[6]s
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
	setsid "$exe" registry --layout %[7]s --addr 0.0.0.0:%[2]d%[6]s > %[5]s/registry.log 2>&1 < /dev/null &
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
rm -f ` + clusterRegistryExe + `
sed -i '/` + hostsMark + `$/d' /etc/hosts 2>/dev/null || true
`
