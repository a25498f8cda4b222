package pull

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealpack/sealpack/payload"
)

// benchImages pushes 8 images, 220 MiB of distinct incompressible layers in
// all: two bases shared by four images each, one layer shared by two, and
// one layer of its own per image.
func benchImages(b *testing.B, reg *testRegistry) []string {
	b.Helper()
	baseA, baseB, mid := gzLayer(b, 100, 40<<20), gzLayer(b, 101, 24<<20), gzLayer(b, 102, 8<<20)
	var refs []string
	for i := range 8 {
		layers := []v1.Layer{baseA}
		if i >= 4 {
			layers = []v1.Layer{baseB}
		}
		if i < 2 {
			layers = append(layers, mid)
		}
		layers = append(layers, gzLayer(b, uint64(200+i), 37<<19))
		ref := fmt.Sprintf("bench/app%d:1.%d", i, i)
		reg.push(b, ref, makeImage(b, "linux/amd64", layers...))
		refs = append(refs, ref)
	}
	return refs
}

// diskWrites is what this process has made the kernel write to storage
// (dirtied page cache included, truncated dirty pages excluded).
func diskWrites(b *testing.B) int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	var w, c int64
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "write_bytes":
			w = n
		case "cancelled_write_bytes":
			c = n
		}
	}
	return w - c
}

// cpuTime is the CPU time used by this process (the registry serving
// included) and by its waited-for children (skopeo, tar, zstd).
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}

// runReference copies the images with skopeo into an OCI directory and packs it
// with tar | zstd -T0 -3, as a build tool without its own format would. It
// returns the time taken and the bytes written (directory and archive).
func runReference(b *testing.B, host string, refs []string) (time.Duration, int64, error) {
	dir := b.TempDir()
	oci := filepath.Join(dir, "oci")
	start := time.Now()
	for _, ref := range refs {
		cmd := exec.Command("skopeo", "copy", "--insecure-policy", "--quiet", "--src-tls-verify=false",
			"docker://"+host+"/"+ref, "oci:"+oci+":"+ref)
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("skopeo copy %s: %v: %s", ref, err, out)
		}
	}
	archive := filepath.Join(dir, "images.tar.zst")
	cmd := exec.Command("bash", "-o", "pipefail", "-c", `tar -C "$1" -cf - . | zstd -q -T0 -3 -o "$2"`, "-", oci, archive)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("tar | zstd: %v: %s", err, out)
	}
	elapsed := time.Since(start)
	written := dirBytes(oci) + dirBytes(archive)
	os.RemoveAll(dir)
	return elapsed, written, nil
}

// BenchmarkStore carries the 8 images from a loopback registry into a
// payload: cold (empty cache), warm (every blob cached), and without a cache.
// Each iteration also runs the reference (skopeo copy into an OCI directory,
// then tar | zstd -T0 -3), untimed, right after ours, so that both see the
// same load on a shared machine; x-ref is our time over the reference's, and
// x-ref-cpu the same for CPU time (steadier when others load the machine).
// Beside ns/op it reports the installer's size and the bytes written to disk.
func BenchmarkStore(b *testing.B) {
	reg := newRegistry(b)
	refs := benchImages(b, reg)
	full := make([]string, len(refs))
	for i, r := range refs {
		full[i] = reg.host + "/" + r
	}
	withRef := true
	for _, tool := range []string{"skopeo", "zstd", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Logf("reference skipped: %s not installed (apt-get install -y skopeo zstd)", tool)
			withRef = false
		}
	}

	store := func(b *testing.B, dir, cache string) (int64, int64) {
		path := filepath.Join(dir, "app.run")
		before := diskWrites(b)
		w, err := payload.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		w.WriteStub(strings.NewReader("#!/bin/sh\nexit 0\n"))
		opts := Options{Platforms: []string{"linux/amd64"}, CacheDir: cache}
		files, images, err := Store(context.Background(), full, w, opts)
		if err != nil {
			w.Abort()
			b.Fatal(err)
		}
		if err := w.Commit(payload.Meta{Platform: "linux/amd64", Files: files, Images: images}); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size(), diskWrites(b) - before
	}
	for _, mode := range []string{"cold-cache", "warm-cache", "no-cache"} {
		b.Run(mode, func(b *testing.B) {
			b.StopTimer()
			warm := filepath.Join(b.TempDir(), "warm")
			if mode == "warm-cache" {
				store(b, b.TempDir(), warm)
			}
			var ours, theirs, oursCPU, theirsCPU time.Duration
			var size, written, refWritten int64
			for range b.N {
				dir, err := os.MkdirTemp("", "bench-store-")
				if err != nil {
					b.Fatal(err)
				}
				cache := ""
				switch mode {
				case "cold-cache":
					cache = filepath.Join(dir, "cache")
				case "warm-cache":
					cache = warm
				}
				b.StartTimer()
				start, cpu := time.Now(), cpuTime()
				size, written = store(b, dir, cache)
				ours += time.Since(start)
				oursCPU += cpuTime() - cpu
				b.StopTimer()
				os.RemoveAll(dir)
				if withRef {
					cpu := cpuTime()
					t, w, err := runReference(b, reg.host, refs)
					if err != nil {
						b.Fatal(err)
					}
					theirsCPU += cpuTime() - cpu
					theirs += t
					refWritten = w
				}
			}
			b.ReportMetric(float64(size)/1e6, "installer-MB")
			b.ReportMetric(float64(written)/1e6, "written-MB")
			b.ReportMetric(float64(written)/float64(size), "written/installer")
			if withRef {
				b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "ref-ns/op")
				b.ReportMetric(float64(refWritten)/1e6, "ref-written-MB")
				b.ReportMetric(float64(ours)/float64(theirs), "x-ref")
				b.ReportMetric(oursCPU.Seconds()/float64(b.N), "cpu-s/op")
				b.ReportMetric(theirsCPU.Seconds()/float64(b.N), "ref-cpu-s/op")
				b.ReportMetric(float64(oursCPU)/float64(theirsCPU), "x-ref-cpu")
			}
		})
	}
}
