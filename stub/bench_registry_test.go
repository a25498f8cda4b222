package main

// The figures of issue 10 (make bench), each beside its reference measured
// in the same run:
//
//   - BenchmarkClusterRegistry/SeedOncePerMaster: an install onto 2 masters
//     and a node sends each carried blob once per master (deployer.Stats and
//     the bytes on the wire), and a second install sends none;
//   - BenchmarkClusterRegistry/NodePullVsScp: a node's pull of a 100 MiB
//     image from a master's registry, with containerd, against scp of the
//     same bytes from that master;
//   - BenchmarkRegistryStart: `registry --layout` over 2 GiB of images is
//     serving in well under a second, as over 1 MiB.
//
// They run their own alternating runs and ignore b.N: run them with
// -benchtime 1x. The first two need root (the hosts are network
// namespaces):
//
//	go test ./stub -run '^$' -bench 'ClusterRegistry|RegistryStart' -benchtime 1x

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/payload"
)

// What the cluster benchmarks carry: one image with a 100 MiB random layer
// (the image a node pulls) and three small ones, about 106 MiB of blobs.
const (
	benchBigImage = "docker.io/library/big:1"
	benchBigLayer = 100 << 20
	// benchLayoutDir is where a master's registry keeps its layout
	// (deployer's clusterRegistryLayout).
	benchLayoutDir = "/var/lib/sealpack/registry/layout"
	// benchContentDir is containerd's content store on a test host.
	benchContentDir = "/var/lib/containerd/io.containerd.content.v1.content/blobs/sha256"
	benchPullRuns   = 5
	benchStartRuns  = 7
)

// registryBench is the site the cluster figures share: 2 masters and a
// node, and an installer (the real stub) carrying the fake Kubernetes and
// the benchmark images.
type registryBench struct {
	w        *testhost.World
	p        *payload.Reader
	c        *clusterfile.Cluster
	dir      string // the jump host's directory: .sealpack/ lands here
	images   []testImage
	layout   int64    // bytes of the layout a master receives (blobs, index.json, oci-layout)
	veths    []string // each host's link on the bridge, seen from the jump host
	masters  int
	installs int
}

// BenchmarkClusterRegistry: the seeding and pull figures of issue 10 over one
// site (the pull needs the install the seeding figure makes).
func BenchmarkClusterRegistry(b *testing.B) {
	w := testhost.New(b, 3, testhost.Options{})
	dir := b.TempDir()
	bin, err := fakeK8sOnce()
	if err != nil {
		b.Fatalf("building the fake kubernetes: %v", err)
	}
	fake, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	files := entries(fakek8stest.Rootfs(fake))
	// One random layer per image, the same in every run.
	var layers [][]byte
	for i, size := range []int{benchBigLayer, 3 << 20, 2 << 20, 1 << 20} {
		layer := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(i + 1), 10}).Read(layer)
		layers = append(layers, layer)
	}
	imgs, carried := layImages(files,
		[]string{benchBigImage, "quay.io/acme/api:2", "ghcr.io/acme/worker:3", "registry.k8s.io/pause:3.9"}, layers)
	exe := writeInstaller(b, filepath.Join(dir, "app-installer.run"), installerSpec{files: files, images: carried, cmds: []string{"kubectl get nodes"}})
	p, err := payload.Open(exe)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	rb := &registryBench{w: w, p: p, dir: dir, images: imgs, masters: 2}
	for _, f := range p.Index().Files {
		if strings.HasPrefix(f.Path, "images/") && f.Type == payload.TypeFile {
			rb.layout += f.Size
		}
	}
	c, _, err := clusterfile.Parse("Clusterfile", []byte(fmt.Sprintf(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: bench}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [%s, %s]
    roles: [master]
  - ips: [%s]
    roles: [node]
`, w.Hosts[0].IP, w.Hosts[1].IP, w.Hosts[2].IP)))
	if err != nil {
		b.Fatal(err)
	}
	rb.c = c
	for _, h := range w.Hosts {
		v, err := bridgeEnd(h)
		if err != nil {
			b.Fatal(err)
		}
		rb.veths = append(rb.veths, v)
	}
	b.Run("SeedOncePerMaster", rb.benchSeed)
	b.Run("NodePullVsScp", rb.benchPull)
}

// bridgeEnd finds the jump host's end of h's veth pair: the interface whose
// index is the host's eth0 peer (iflink).
func bridgeEnd(h *testhost.Host) (string, error) {
	out, err := h.Exec(context.Background(), "cat /sys/class/net/eth0/iflink")
	if err != nil {
		return "", err
	}
	peer := strings.TrimSpace(string(out))
	links, _ := filepath.Glob("/sys/class/net/*/ifindex")
	for _, l := range links {
		if raw, err := os.ReadFile(l); err == nil && strings.TrimSpace(string(raw)) == peer {
			return filepath.Base(filepath.Dir(l)), nil
		}
	}
	return "", fmt.Errorf("%s: no interface here has index %s (the host's eth0 peer)", h.Name, peer)
}

// txBytes is what the jump host sent down link (its tx counter).
func txBytes(link string) int64 {
	raw, err := os.ReadFile(filepath.Join("/sys/class/net", link, "statistics", "tx_bytes"))
	if err != nil {
		return -1
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return n
}

// install runs the installer's install over the site, as `--unattended`
// does (the installer's registry for the hosts, a registry on every master),
// and returns its stats and the bytes that went down each host's link
// during the registry phase.
func (rb *registryBench) install(b *testing.B) (*deployer.Stats, []int64) {
	b.Helper()
	stats := &deployer.Stats{}
	var mu sync.Mutex
	before, wire := make([]int64, len(rb.veths)), make([]int64, len(rb.veths))
	sample := func(into []int64, sign int64) {
		for i, v := range rb.veths {
			into[i] += sign * txBytes(v)
		}
	}
	opts := deployer.Options{StateDir: filepath.Join(rb.dir, ".sealpack"), AcceptNewHostKeys: true, Stats: stats,
		Sink: func(e event.Event) {
			if e.Phase != event.Registry {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch e.Type {
			case event.PhaseStart:
				sample(before, 1)
			case event.PhaseDone:
				sample(wire, 1)
				for i := range wire {
					wire[i] -= before[i]
				}
			}
		}}
	withImages(&opts, rb.p)
	stop, err := startRegistry(rb.p, &opts)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := deployer.Apply(ctx, rb.c, opts); err != nil {
		b.Fatalf("install %d: %v", rb.installs+1, err)
	}
	rb.installs++
	return stats, wire
}

func registryWall(s *deployer.Stats) time.Duration {
	for _, ph := range s.Phases {
		if ph.Name == event.Registry {
			return ph.Wall
		}
	}
	return 0
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// benchSeed: what an install onto 2 masters + 1 node sends to the masters'
// registries (deployer.Stats, and the jump host's tx counters of the
// masters' links during the registry phase) against the layout's bytes
// times the masters; then the same for a second install over the same
// hosts, which must find every blob in place. Limits: <= 1.05, and ~0.
func (rb *registryBench) benchSeed(b *testing.B) {
	prog := rb.p.Index().StubSize
	m := int64(rb.masters)
	first, wire1 := rb.install(b)
	second, wire2 := rb.install(b)
	masterWire := func(w []int64) int64 { return w[0] + w[1] }
	ref := rb.layout * m
	seedRatio := float64(first.SeedBytes) / float64(ref)
	progRatio := float64(first.ProgramBytes) / float64(prog*m)
	wireRatio := float64(masterWire(wire1)) / float64((rb.layout+prog)*m)
	againRatio := float64(second.SeedBytes+second.ProgramBytes) / float64(ref)
	againWire := float64(masterWire(wire2)) / float64(ref)
	b.ReportMetric(seedRatio, "seed/(layout×masters)")
	b.ReportMetric(wireRatio, "wire/((layout+program)×masters)")
	b.ReportMetric(float64(second.SeedBytes+second.ProgramBytes), "second-install-B")
	hb := payload.HumanBytes
	// One Logf, under 10 lines: go test cuts a benchmark's log there.
	b.Logf(`seeding 2 masters + 1 node: %d images, layout %s (blobs, index.json, oci-layout), program %s
      first install    Stats.SeedBytes    %9s = %.4f × (layout × masters)             limit <= 1.05   %s   (registry phase %v)
                       Stats.ProgramBytes %9s = %.4f × (program × masters)
                       on the wire        %9s = %.4f × ((layout + program) × masters)  limit <= 1.05   %s   (jump host's tx on the masters' veths, registry phase; node's: %s)
      second install   Stats.SeedBytes + ProgramBytes %s = %.4f × (layout × masters)  limit ~0 (<= 0.01)   %s   (registry phase %v)
                       on the wire        %9s = %.4f × (layout × masters)             limit ~0 (<= 0.01)   %s`,
		len(rb.images), hb(rb.layout), hb(prog),
		hb(first.SeedBytes), seedRatio, verdict(seedRatio <= 1.05), registryWall(first).Round(time.Millisecond),
		hb(first.ProgramBytes), progRatio,
		hb(masterWire(wire1)), wireRatio, verdict(wireRatio <= 1.05), hb(wire1[2]),
		hb(second.SeedBytes+second.ProgramBytes), againRatio, verdict(againRatio <= 0.01), registryWall(second).Round(time.Millisecond),
		hb(masterWire(wire2)), againWire, verdict(againWire <= 0.01))
}

// benchPull: a node pulls the 100 MiB image from the masters' registries
// with containerd (`ctr content fetch --hosts-dir`, through the hosts.toml
// that the install wrote: the TLS registry on each master, checked against
// the cluster's CA), against scp of the layer's file from master0 to the
// node followed by an fsync of the copy (containerd syncs what it commits),
// into the same file system. Alternating runs, medians. Also shown: curl of
// the layer blob from master0's registry. Limit: pull speed >= 0.7 × scp's.
func (rb *registryBench) benchPull(b *testing.B) {
	if rb.installs == 0 {
		rb.install(b)
	}
	ctx := context.Background()
	m0, node := rb.w.Hosts[0], rb.w.Hosts[2]
	big := rb.images[0]
	layer, size := big.layerDigest, int64(len(big.layer))
	hex := strings.TrimPrefix(layer, "sha256:")
	onHost := func(h *testhost.Host, script string) string {
		b.Helper()
		out, err := h.Exec(ctx, script)
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		return string(out)
	}
	hostsToml := onHost(node, "cat /etc/containerd/certs.d/docker.io/hosts.toml")
	onHost(node, startContainerd)
	defer node.Exec(ctx, `kill "$(cat /run/bench-containerd.pid)" 2>/dev/null`)
	ca, err := os.ReadFile(filepath.Join(rb.dir, ".sealpack", "registry-ca.crt"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := node.ExecInput(ctx, ca, "cat > /run/bench-ca.crt"); err != nil {
		b.Fatal(err)
	}
	pub := onHost(node, "rm -f /root/.ssh/bench_scp*; mkdir -p /root/.ssh; ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/bench_scp && cat /root/.ssh/bench_scp.pub")
	if err := m0.AuthorizeKey(ctx, "root", pub); err != nil {
		b.Fatal(err)
	}
	dst := "/var/lib/containerd/bench-copy"
	clean := fmt.Sprintf(`ctr --connect-timeout 5s images rm --sync %[1]s >/dev/null 2>&1
ctr --connect-timeout 5s content rm %[2]s %[3]s %[4]s >/dev/null 2>&1
rm -f %[5]s
i=0
while [ -e %[6]s/%[7]s ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "the layer stays in containerd's content store" >&2; exit 1; }
	sleep 0.05
done
sync`, benchBigImage, big.manifest, big.config, layer, dst, benchContentDir, hex)
	timed := func(script string) time.Duration {
		onHost(node, clean)
		out := onHost(node, `s=$(date +%s%N)
`+script+`
e=$(date +%s%N)
echo $((e - s))`)
		f := strings.Fields(out)
		if len(f) == 0 {
			b.Fatalf("timing: no output")
		}
		ns, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			b.Fatalf("timing: %q", out)
		}
		return time.Duration(ns)
	}
	pull := fmt.Sprintf(`ctr --connect-timeout 5s content fetch --hosts-dir /etc/containerd/certs.d %s >/dev/null || exit 1
[ "$(stat -c %%s %s/%s)" = %d ] || { echo "containerd has no layer of %d bytes" >&2; exit 1; }`,
		benchBigImage, benchContentDir, hex, size, size)
	scp := fmt.Sprintf(`scp -q -i /root/.ssh/bench_scp -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@%s:%s/blobs/sha256/%s %s || exit 1
sync %s`, m0.IP, benchLayoutDir, hex, dst, dst)
	curl := fmt.Sprintf(`curl -fsS --cacert /run/bench-ca.crt -o %s 'https://%s:%d/v2/library/big/blobs/%s?ns=docker.io' || exit 1
sync %s`, dst, m0.IP, rb.c.RegistryPort(), layer, dst)
	var pulls, scps, curls []time.Duration
	for range benchPullRuns {
		pulls = append(pulls, timed(pull))
		scps = append(scps, timed(scp))
		curls = append(curls, timed(curl))
	}
	onHost(node, clean)
	mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	p, s, c := median(pulls), median(scps), median(curls)
	ratio := mbps(p) / mbps(s)
	b.ReportMetric(mbps(p), "pull-MB/s")
	b.ReportMetric(mbps(s), "scp-MB/s")
	b.ReportMetric(ratio, "ratio")
	var mirrors []string
	for _, l := range strings.Split(hostsToml, "\n") {
		if strings.HasPrefix(l, "[host.") {
			mirrors = append(mirrors, strings.TrimSuffix(strings.TrimPrefix(l, "[host."), "]"))
		}
	}
	b.Logf(`a node pulls %s (a %s random layer) from the masters' registries (TLS): %d runs each, alternating, medians
      pull  ctr content fetch --hosts-dir /etc/containerd/certs.d (containerd %s; mirrors as the install wrote them: %s)
                  %8v  %6.1f MB/s   (runs %v)
      scp   of the layer's file from master0, then fsync of the copy (containerd syncs what it commits)
                  %8v  %6.1f MB/s   (runs %v)
      speed ratio pull/scp %.2f    limit >= 0.70   %s
      (for comparison, curl of the blob from master0's registry, then fsync: %v, %.1f MB/s, %.2f × scp)`,
		benchBigImage, payload.HumanBytes(size), benchPullRuns,
		strings.TrimSpace(onHost(node, "containerd --version | cut -d' ' -f3")), strings.Join(mirrors, ", "),
		p.Round(time.Millisecond), mbps(p), roundAll(pulls),
		s.Round(time.Millisecond), mbps(s), roundAll(scps),
		ratio, verdict(ratio >= 0.7),
		c.Round(time.Millisecond), mbps(c), mbps(c)/mbps(s))
}

// startContainerd starts containerd in a test host that has no systemd:
// its own content store under /var/lib/containerd (each host has its own),
// no CRI plugin (nothing here runs pods), and waits for its socket.
const startContainerd = `set -e
mkdir -p /run/containerd
cat > /run/bench-containerd.toml <<'EOF'
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "/run/containerd/containerd.sock"
EOF
setsid containerd --config /run/bench-containerd.toml > /run/bench-containerd.log 2>&1 < /dev/null &
echo $! > /run/bench-containerd.pid
i=0
until ctr --connect-timeout 1s version >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "containerd does not answer:" >&2; tail -20 /run/bench-containerd.log >&2; exit 1; fi
	sleep 0.1
done
`

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, x := range d {
		out[i] = x.Round(time.Millisecond)
	}
	return out
}

// BenchmarkRegistryStart: the time from the exec of `registry --layout DIR`
// (the bare installer program, as every master runs it) to its first
// answers, /v2/ and an image's manifest, over a layout of 2 GiB of layers
// against one of 1 MiB with the same 32 images of 8 layers each. The big
// layers are sparse files named by made-up digests: a registry that
// scanned or hashed them at start would read 2 GiB (and find them wrong).
// Alternating runs, medians. Limits: < 1 s, and the ratio to 1 MiB <= 2.
func BenchmarkRegistryStart(b *testing.B) {
	exe, err := stubOnce()
	if err != nil {
		b.Fatal(err)
	}
	const images, layers = 32, 8
	big, small := filepath.Join(b.TempDir(), "big"), filepath.Join(b.TempDir(), "small")
	writeStartLayout(b, big, images, layers, 8<<20)
	writeStartLayout(b, small, images, layers, 4<<10)
	var v2Big, v2Small, manBig, manSmall []time.Duration
	for range benchStartRuns {
		v, m := timeStart(b, exe, big)
		v2Big, manBig = append(v2Big, v), append(manBig, m)
		v, m = timeStart(b, exe, small)
		v2Small, manSmall = append(v2Small, v), append(manSmall, m)
	}
	vb, vs, mb, ms := median(v2Big), median(v2Small), median(manBig), median(manSmall)
	b.ReportMetric(float64(vb.Microseconds())/1000, "v2-2GiB-ms")
	b.ReportMetric(float64(mb.Microseconds())/1000, "manifest-2GiB-ms")
	b.ReportMetric(float64(mb)/float64(ms), "ratio")
	row := func(what string, big, small time.Duration) string {
		r := float64(big) / float64(small)
		return fmt.Sprintf("    %-24s 2 GiB %7v   1 MiB %7v   limit < 1s   %s   ratio %.2f   limit <= 2   %s",
			what, big.Round(time.Millisecond), small.Round(time.Millisecond), verdict(big < time.Second), r, verdict(r <= 2))
	}
	b.Logf("registry --layout start, %d images × %d layers: 2 GiB (sparse layers under made-up digests) vs 1 MiB; %d runs each, alternating, medians\n%s\n%s\n    (runs 2 GiB: %v / %v)",
		images, layers, benchStartRuns, row("exec to GET /v2/ 200", vb, vs), row("exec to a manifest 200", mb, ms), roundAll(v2Big), roundAll(manBig))
}

// writeStartLayout writes an OCI image layout of images images of layers
// layers of size bytes each into dir. Layers are sparse files under
// made-up digests; manifests and configs are real.
func writeStartLayout(b *testing.B, dir string, images, layers int, size int64) {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		b.Fatal(err)
	}
	put := func(data []byte) string {
		d := fmtDigest(data)
		if err := os.WriteFile(filepath.Join(blobs, d[len("sha256:"):]), data, 0o644); err != nil {
			b.Fatal(err)
		}
		return d
	}
	var entries []any
	for i := range images {
		var descs []any
		var diffs []string
		for j := range layers {
			d := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprintf("made-up layer %d/%d", i, j))))
			f, err := os.Create(filepath.Join(blobs, d[len("sha256:"):]))
			if err != nil {
				b.Fatal(err)
			}
			if err := f.Truncate(size); err != nil {
				b.Fatal(err)
			}
			f.Close()
			descs = append(descs, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": size})
			diffs = append(diffs, d)
		}
		cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffs}})
		cd := put(cfg)
		man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
			"layers": descs})
		md := put(man)
		entries = append(entries, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
			"annotations": map[string]string{"io.containerd.image.name": fmt.Sprintf("docker.io/library/img%d:1", i)}})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
	os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// timeStart execs `registry --layout dir` on a free loopback port and
// returns the time to its first 200 on /v2/, and on the manifest of the
// layout's first image.
func timeStart(b *testing.B, exe, dir string) (v2, manifest time.Duration) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var stderr strings.Builder
	cmd := exec.Command(exe, "registry", "--layout", dir, "--addr", addr)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	for {
		select {
		case err := <-exited:
			exited <- err
			b.Fatalf("registry --layout %s exited: %v\n%s", dir, err, stderr.String())
		default:
		}
		if time.Since(start) > 30*time.Second {
			b.Fatalf("registry --layout %s: no answer on /v2/ in 30 s\n%s", dir, stderr.String())
		}
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				v2 = time.Since(start)
				break
			}
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			b.Logf("GET /v2/: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/library/img0/manifests/1", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatalf("manifest: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("manifest: HTTP %d\n%s", resp.StatusCode, stderr.String())
	}
	return v2, time.Since(start)
}
