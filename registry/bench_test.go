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
	"testing"
	"time"

	"github.com/sealpack/sealpack/payload"
)

// fileLayer writes a layer file of size bytes: zeros as a sparse file (cheap
// to make at 2 GB), else pseudo-random bytes. It returns path and digest.
func fileLayer(b *testing.B, dir string, size int64, zero bool, seed uint64) (string, string) {
	p := filepath.Join(dir, fmt.Sprintf("layer-%d", seed))
	f := must(os.Create(p))
	defer f.Close()
	if zero {
		if err := f.Truncate(size); err != nil {
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
				addr, wait, err := Serve(ctx, r, "127.0.0.1:0")
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

// BenchmarkBlobDownload downloads one raw layer over loopback and compares
// with `cat` of the installer file (the same bytes, all in the page cache).
func BenchmarkBlobDownload(b *testing.B) {
	const size = 512 << 20
	path, digests := bigInstaller(b, []int64{size}, false)
	r := must(payload.Open(path))
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addr, wait, err := Serve(ctx, r, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); _ = wait() }()
	url := "http://" + addr + "/v2/library/big0/blobs/" + digests[0]

	catRate := catThroughput(b, path)
	// A client that reads as containerd does (1 MiB buffers); Go's defaults
	// (4 KiB transport buffer, 8 KiB io.Discard reads) measure the client.
	client := &http.Client{Transport: &http.Transport{ReadBufferSize: 1 << 20}}
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, buf)
		resp.Body.Close()
		if err != nil || n != size {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
	}
	httpRate := float64(size) * float64(b.N) / time.Since(start).Seconds() / (1 << 20)
	b.ReportMetric(catRate, "cat-MB/s")
	b.ReportMetric(httpRate/catRate, "ratio-vs-cat")
}

// catThroughput is MB/s of `cat FILE > /dev/null`, best of three warm runs.
func catThroughput(b *testing.B, path string) float64 {
	cat, err := exec.LookPath("cat")
	if err != nil {
		b.Skip("no cat")
	}
	size := must(os.Stat(path)).Size()
	best := time.Duration(1 << 62)
	for range 4 { // the first run warms the page cache
		devnull := must(os.OpenFile(os.DevNull, os.O_WRONLY, 0))
		cmd := exec.Command(cat, path)
		cmd.Stdout = devnull
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(start))
		devnull.Close()
	}
	return float64(size) / best.Seconds() / (1 << 20)
}
