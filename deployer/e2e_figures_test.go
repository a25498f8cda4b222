package deployer_test

// The figures of issue 4, as benchmarks (they need root and take tens of
// seconds, so `go test` alone does not run them):
//
//	go test ./deployer -run '^$' -bench 'Distribute|InstallOverhead' -benchtime 3x -v

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/testhost"
)

// benchRootfs is about 200 MB with the fake binaries: mostly incompressible
// binaries under bin/ (every host gets them), some text under etc/ (every
// host) and manifests/ and charts/ (master0 only).
func benchRootfs(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for i := range 4 {
		files[fmt.Sprintf("bin/tool-%d", i)] = randomBytes(t, 35<<20)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("apiVersion kind metadata name namespace labels spec template containers image ports containerPort resources limits cpu memory volumeMounts mountPath env value")
	text := func(n int) []byte {
		var b strings.Builder
		for b.Len() < n {
			fmt.Fprintf(&b, "%s%s: %s-%d\n", strings.Repeat("  ", rng.IntN(4)), words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(10000))
		}
		return []byte(b.String())
	}
	for i := range 100 {
		files[fmt.Sprintf("etc/conf/%03d.yaml", i)] = text(100 << 10)
	}
	for i := range 100 {
		files[fmt.Sprintf("manifests/app-%03d.yaml", i)] = text(100 << 10)
		files[fmt.Sprintf("charts/chart-%03d/values.yaml", i)] = text(50 << 10)
	}
	return files
}

func mustParse(t testing.TB, text string) *clusterfile.Cluster {
	t.Helper()
	c, _, err := clusterfile.Parse("Clusterfile", []byte(text))
	if err != nil {
		t.Fatalf("Clusterfile: %v\n%s", err, text)
	}
	return c
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkDistributeVsScp: sealpack's distribute phase against OpenSSH's
// scp copying the same files (master0 the whole rootfs, the others bin/,
// etc/ and scripts/) to the same 3 hosts in parallel, alternately, in the
// same run. Target: ratio <= 1.5.
func BenchmarkDistributeVsScp(b *testing.B) {
	w := testhost.New(b, 3, testhost.Options{})
	ctx := context.Background()
	p := testPayloadWith(b, payloadSpec{files: benchRootfs(b)})
	var total int64
	for _, f := range p.Index().Files {
		total += f.Size
	}
	tmp := b.TempDir()
	key, pub := newKeyFile(b, tmp)
	for _, h := range w.Hosts {
		if err := h.AuthorizeKey(ctx, "root", pub); err != nil {
			b.Fatal(err)
		}
	}
	// What scp sends: the rootfs as files, whole for master0, the node
	// directories for the others.
	full, nodes := filepath.Join(tmp, "full"), filepath.Join(tmp, "nodes")
	if err := p.Extract(ctx, full, nil); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(nodes, 0o755)
	for _, d := range []string{"bin", "etc", "scripts"} {
		if out, err := exec.Command("cp", "-al", filepath.Join(full, d), nodes).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	text := `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: bench}
spec:
  ssh: {pk: ` + key + `}
  hosts:
  - ips: [{{0}}]
    roles: [master]
  - ips: [{{1}}, {{2}}]
    roles: [node]
`
	for i, h := range w.Hosts {
		text = strings.ReplaceAll(text, fmt.Sprintf("{{%d}}", i), h.IP)
	}
	c := mustParse(b, text)
	clean := func(what string) {
		parallelHosts(w, func(_ int, h *testhost.Host) {
			if _, err := h.Exec(ctx, "rm -rf /var/lib/sealpack /var/lib/scpref /usr/local/bin/tool-* /usr/local/bin/kube*; sync"); err != nil {
				b.Fatalf("cleaning %s: %v", what, err)
			}
		})
	}
	var sp, ref []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clean("before sealpack")
		dctx, cancel := context.WithCancel(ctx)
		stats := &deployer.Stats{}
		opts := deployer.Options{Payload: p, StateDir: filepath.Join(b.TempDir(), ".sealpack"), AcceptNewHostKeys: true, Stats: stats,
			// Distribute is measured: the run stops when it is done.
			Sink: func(e event.Event) {
				if e.Type == event.PhaseDone && e.Phase == event.Distribute {
					cancel()
				}
			}}
		err := deployer.Apply(dctx, c, opts)
		cancel()
		if !errors.Is(err, context.Canceled) {
			b.Fatalf("distribute: %v", err)
		}
		for _, ph := range stats.Phases {
			if ph.Name == event.Distribute {
				sp = append(sp, ph.Wall)
			}
		}
		clean("before scp")
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, len(w.Hosts))
		for i, h := range w.Hosts {
			src := nodes
			if i == 0 {
				src = full
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := exec.Command("scp", "-r", "-q", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
					"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", src, "root@"+h.IP+":/var/lib/scpref").CombinedOutput()
				if err != nil {
					errs[i] = fmt.Errorf("scp to %s: %v: %s", h.IP, err, out)
				}
			}()
		}
		wg.Wait()
		ref = append(ref, time.Since(start))
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ratio := float64(median(sp)) / float64(median(ref))
	b.ReportMetric(median(sp).Seconds(), "sealpack-s")
	b.ReportMetric(median(ref).Seconds(), "scp-s")
	b.ReportMetric(ratio, "ratio")
	b.Logf("rootfs %d MB; distribute to 3 hosts: sealpack %v (runs %v), scp in parallel %v (runs %v): ratio %.2f (target <= 1.5)",
		total>>20, median(sp).Round(time.Millisecond), sp, median(ref).Round(time.Millisecond), ref, ratio)
}

// BenchmarkInstallOverhead: a 10-host install (3 masters, 7 nodes) with the
// fake Kubernetes. sealpack's own overhead is the run's wall time minus the
// time during which at least one host was working for it (connecting,
// running a command, receiving a file), measured around every remote
// operation (deployer.Stats). Target: < 5 s.
func BenchmarkInstallOverhead(b *testing.B) {
	w := testhost.New(b, 10, testhost.Options{})
	ctx := context.Background()
	p := testPayload(b)
	text := `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: ten}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [{{0}}, {{1}}, {{2}}]
    roles: [master]
  - ips: [{{3}}, {{4}}, {{5}}, {{6}}, {{7}}, {{8}}, {{9}}]
    roles: [node]
`
	for i, h := range w.Hosts {
		text = strings.ReplaceAll(text, fmt.Sprintf("{{%d}}", i), h.IP)
	}
	c := mustParse(b, text)
	var walls, owns []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stats := &deployer.Stats{}
		opts := deployer.Options{Payload: p, StateDir: filepath.Join(b.TempDir(), ".sealpack"), AcceptNewHostKeys: true, Stats: stats}
		start := time.Now()
		if err := deployer.Apply(ctx, c, opts); err != nil {
			b.Fatalf("install: %v", err)
		}
		wall := time.Since(start)
		var remote, busiest time.Duration
		var lines []string
		for _, ph := range stats.Phases {
			remote += ph.Remote
			busiest += ph.Busiest
			lines = append(lines, fmt.Sprintf("%-13s wall %7v  hosts busy %7v  own %6v  busiest host %7v  %4d ops",
				ph.Name, ph.Wall.Round(time.Millisecond), ph.Remote.Round(time.Millisecond), (ph.Wall-ph.Remote).Round(time.Millisecond), ph.Busiest.Round(time.Millisecond), ph.Calls))
		}
		// Time inside kubeadm and kubectl themselves, as the fake recorded it.
		var inFake time.Duration
		for _, h := range w.Hosts {
			out, _ := h.Exec(ctx, "cat "+fakek8stest.CallsFile)
			calls, _ := fakek8stest.ParseCalls(strings.NewReader(string(out)))
			for _, call := range calls {
				if call.Host == h.Name && !call.Daemon {
					inFake += time.Duration(call.DurationMS) * time.Millisecond
				}
			}
		}
		own := wall - remote
		walls, owns = append(walls, wall), append(owns, own)
		b.Logf("run %d: total %v, hosts busy %v, sealpack's own %v (sum over phases of the busiest host: %v; inside kubeadm/kubectl, all hosts: %v)\n%s",
			i+1, wall.Round(time.Millisecond), remote.Round(time.Millisecond), own.Round(time.Millisecond), busiest.Round(time.Millisecond), inFake.Round(time.Millisecond), strings.Join(lines, "\n"))
		if i+1 < b.N {
			if err := deployer.Reset(ctx, c, opts); err != nil {
				b.Fatalf("reset: %v", err)
			}
			parallelHosts(w, func(_ int, h *testhost.Host) { h.Exec(ctx, "rm -f "+fakek8stest.CallsFile) })
		}
	}
	b.StopTimer()
	b.ReportMetric(median(walls).Seconds(), "total-s")
	b.ReportMetric(median(owns).Seconds(), "overhead-s")
}
