package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sealpack/sealpack/payload"
	"golang.org/x/sys/unix"
)

// fileLayer writes a layer file of size bytes: zeros as a sparse file (cheap
// to make at 2 GB), else pseudo-random bytes. It returns path and digest.
func fileLayer(b *testing.B, dir string, size int64, zero bool, seed uint64) (string, string) {
	p := filepath.Join(dir, fmt.Sprintf("layer-%d", seed))
	f := must(os.Create(p))
	defer f.Close()
	if zero {
		// Mostly a hole; the first bytes tell layers apart (else they dedupe).
		if err := f.Truncate(size); err != nil {
			b.Fatal(err)
		}
		if _, err := f.WriteAt([]byte(fmt.Sprintf("layer %d", seed)), 0); err != nil {
			b.Fatal(err)
		}
	} else {
		rng := rand.NewChaCha8([32]byte{byte(seed)})
		if _, err := io.CopyN(f, rng, size); err != nil {
			b.Fatal(err)
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, must(os.Open(p))); err != nil {
		b.Fatal(err)
	}
	return p, "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// bigInstaller lays out one image per layer file into an installer and
// returns its path and the layers' digests.
func bigInstaller(b *testing.B, sizes []int64, zero bool) (string, []string) {
	dir := b.TempDir()
	l := newLayout(b)
	var digests []string
	for i, size := range sizes {
		p, d := fileLayer(b, dir, size, zero, uint64(i+1))
		l.addBlob(blobSource{digest: d, size: size, open: func() (io.ReadCloser, error) { return os.Open(p) }, raw: true})
		cfg := must(json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{d}}}))
		man := must(json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": mediaOCIManifest,
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": l.addBytes(cfg), "size": len(cfg)},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": size}},
		}))
		md := l.addBytes(man)
		l.entries = append(l.entries, map[string]any{"mediaType": mediaOCIManifest, "digest": md, "size": len(man),
			"annotations": map[string]string{annotationName: fmt.Sprintf("docker.io/library/big%d:1", i), annotationRef: "1"}})
		digests = append(digests, d)
	}
	l.write(dir, nil)
	return filepath.Join(dir, "app.run"), digests
}

// BenchmarkReady measures start to first /v2/ answer: opening the installer,
// loading the image catalog, starting distribution and the listener.
func BenchmarkReady(b *testing.B) {
	for _, bc := range []struct {
		name  string
		sizes []int64
		zero  bool
	}{
		{"40MB", []int64{10 << 20, 10 << 20, 10 << 20, 10 << 20}, false},
		{"2GB", []int64{1 << 30, 1 << 30}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path, _ := bigInstaller(b, bc.sizes, bc.zero)
			st := must(os.Stat(path))
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			var worst time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				r := must(payload.Open(path))
				ctx, cancel := context.WithCancel(context.Background())
				addr, wait, err := Serve(ctx, PayloadStore(r), "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				resp, err := client.Get("http://" + addr + "/v2/")
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("/v2/: %v %v", err, resp)
				}
				resp.Body.Close()
				worst = max(worst, time.Since(start))
				b.StopTimer()
				cancel()
				_ = wait()
				r.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
			b.ReportMetric(float64(st.Size())/(1<<20), "installer-MB")
		})
	}
}

// BenchmarkBlobDownload downloads one raw layer over loopback with curl and
// compares with `cat` of the installer file (the same bytes) in the same
// cache state: warm (in the page cache) and cold (evicted first). It runs
// the server's CPU time per GiB.
func BenchmarkBlobDownload(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("no curl")
	}
	const size = 512 << 20
	path, digests := bigInstaller(b, []int64{size}, false)
	r := must(payload.Open(path))
	defer r.Close()
	for _, bc := range []struct {
		name string
		cold bool
	}{
		{"warm", false},
		{"cold", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			addr, wait, err := Serve(ctx, PayloadStore(r), "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer func() { cancel(); _ = wait() }()
			url := "http://" + addr + "/v2/library/big0/blobs/" + digests[0]
			catRate := catThroughput(b, path, bc.cold)
			if !bc.cold {
				catThroughput(b, path, false) // and leave it warm
			}
			var elapsed, cpu time.Duration
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				if bc.cold {
					b.StopTimer()
					evict(b, path)
					b.StartTimer()
				}
				start, c0 := time.Now(), cpuTime()
				if out, err := exec.Command(curl, "-sSf", "-o", os.DevNull, url).CombinedOutput(); err != nil {
					b.Fatalf("curl: %v %s", err, out)
				}
				elapsed += time.Since(start)
				cpu += cpuTime() - c0
			}
			rate := float64(size) * float64(b.N) / elapsed.Seconds() / (1 << 20)
			b.ReportMetric(catRate, "cat-MB/s")
			b.ReportMetric(rate/catRate, "ratio-vs-cat")
			b.ReportMetric(cpu.Seconds()/(float64(size)*float64(b.N)/(1<<30)), "server-cpu-s/GiB")
		})
	}
}

// cpuTime is the CPU time this process (the registry) used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// evict drops the file from the page cache (only this file: other
// processes' caches stay).
func evict(b *testing.B, path string) {
	f := must(os.Open(path))
	defer f.Close()
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

// catThroughput is MB/s of `cat FILE > /dev/null`, best of three runs,
// warm (after one run that fills the cache) or cold (evicted before each).
func catThroughput(b *testing.B, path string, cold bool) float64 {
	cat, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat")
	}
	size := must(os.Stat(path)).Size()
	best := time.Duration(1 << 62)
	for i := range 4 {
		if cold {
			evict(b, path)
		}
		devnull := must(os.OpenFile(os.DevNull, os.O_WRONLY, 0))
		cmd := exec.Command(cat, path)
		cmd.Stdout = devnull
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		if i > 0 || cold {
			best = min(best, time.Since(start))
		}
		devnull.Close()
	}
	return float64(size) / best.Seconds() / (1 << 20)
}
