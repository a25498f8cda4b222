package sbom_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/packer/pull"
)

// BenchmarkBuildBill builds an installer of 8 images from a loopback
// registry (warm blob cache, as a rebuild is) and a few hundred files, with
// the bill of materials and its referrer lookups, and without (NoSBOM,
// NoReferrers), in turns so both see the same load: bill-ratio is the time
// with over the time without (goal <= 1.05). SEALPACK_BENCH_MB sets the
// images' size (default 64).
func BenchmarkBuildBill(b *testing.B) {
	mb := 64
	if v := os.Getenv("SEALPACK_BENCH_MB"); v != "" {
		fmt.Sscan(v, &mb)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	kf := "FROM scratch\nCOPY tree /tree/\n"
	for i := range 8 {
		layer, err := random.Layer(int64(mb)<<20/8, types.OCILayer)
		if err != nil {
			b.Fatal(err)
		}
		img, err := mutate.AppendLayers(platformImage(b, "amd64"), layer)
		if err != nil {
			b.Fatal(err)
		}
		r, _ := name.ParseReference(fmt.Sprintf("%s/bench/app%d:1.%d", host, i, i))
		if err := remote.Write(r, img); err != nil {
			b.Fatal(err)
		}
		kf += fmt.Sprintf("IMAGE docker.io/bench/app%d:1.%d\n", i, i)
	}
	ctxDir := b.TempDir()
	for i := range 400 {
		p := filepath.Join(ctxDir, "tree", fmt.Sprintf("d%d", i%20), fmt.Sprintf("f%d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(strings.Repeat(fmt.Sprintf("line %d\n", i), 50)), 0o644)
	}
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(kf), 0o644)
	cache, out := b.TempDir(), filepath.Join(b.TempDir(), "bench.run")
	once := func(bill bool) time.Duration {
		opts := packer.BuildOptions{ContextDir: ctxDir, Output: out, Platform: "linux/amd64", Stub: stub, TempDir: b.TempDir(), NoSBOM: !bill,
			Images: packer.NewImageStep(packer.ImageOptions{Pull: pull.Options{Mirrors: map[string]string{"docker.io": "http://" + host}, CacheDir: cache, Retries: -1, NoReferrers: !bill}})}
		start := time.Now()
		if _, err := packer.Build(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	once(true) // fills the cache
	var with, without time.Duration
	b.ResetTimer()
	for b.Loop() {
		with += once(true)
		without += once(false)
	}
	b.ReportMetric(with.Seconds()/float64(b.N), "with-bill-s")
	b.ReportMetric(without.Seconds()/float64(b.N), "without-s")
	b.ReportMetric(float64(with)/float64(without), "bill-ratio")
}
