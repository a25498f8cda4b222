package packer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/benchtree"
)

// BenchmarkBuild builds an installer from a generated tree of mixed content
// (half incompressible, half text and executables, a few thousand files) and
// measures `tar -c | zstd -T0 -3` on the same tree, for the ratios of issue 2:
// time-ratio (build / tar|zstd, goal <= 1.5) and size-ratio (payload / tar.zst,
// goal <= 1.01). SEALPACK_BENCH_MB sets the tree size (default 200).
func BenchmarkBuild(b *testing.B) {
	mb := 200
	if v := os.Getenv("SEALPACK_BENCH_MB"); v != "" {
		fmt.Sscan(v, &mb)
	}
	dir := b.TempDir()
	ctxDir := filepath.Join(dir, "ctx")
	total, files, err := benchtree.Write(filepath.Join(ctxDir, "tree"), int64(mb)<<20)
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY tree /tree/\n"), 0o644)
	out := filepath.Join(dir, "bench.run")

	refTime, refSize := tarZstd(b, ctxDir, filepath.Join(dir, "ref.tar.zst"))

	b.SetBytes(total)
	b.ResetTimer()
	var elapsed time.Duration
	var res *Result
	n := 0
	for b.Loop() {
		start := time.Now()
		var err error
		res, err = Build(context.Background(), opts(ctxDir, out))
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		n++
	}
	b.StopTimer()
	b.ReportMetric(float64(files), "files")
	b.ReportMetric(float64(res.PayloadBytes), "payload-bytes")
	if refSize > 0 {
		b.ReportMetric(float64(refSize), "tarzst-bytes")
		b.ReportMetric(refTime.Seconds(), "tarzst-s")
		b.ReportMetric(float64(res.PayloadBytes)/float64(refSize), "size-ratio")
		b.ReportMetric((elapsed/time.Duration(n)).Seconds()/refTime.Seconds(), "time-ratio")
	}
}

// tarZstd times `tar -c | zstd -T0 -3` of dir (best of three) and returns
// the time and the archive size; 0, 0 when tar or zstd is missing.
func tarZstd(b *testing.B, dir, out string) (time.Duration, int64) {
	if _, err := exec.LookPath("zstd"); err != nil {
		b.Log("zstd not installed: no tar|zstd reference")
		return 0, 0
	}
	best := time.Duration(1 << 62)
	for range 3 {
		start := time.Now()
		cmd := exec.Command("sh", "-c", `tar -C "$1" -c . | zstd -q -f -T0 -3 -o "$2"`, "sh", dir, out)
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tar|zstd: %v\n%s", err, o)
		}
		best = min(best, time.Since(start))
	}
	st, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	return best, st.Size()
}

// BenchmarkMerge merges two installers of 500 MiB of mixed content each,
// sharing no blob,
// (SEALPACK_BENCH_MB sets the size) and times `cat A B > C` of the same
// files, alternating, each after a sync: cat-ratio is merge / cat (goal
// <= 1.2). Both read every byte of the inputs and write them out; merge also
// checks each chunk's sha256.
func BenchmarkMerge(b *testing.B) {
	mb := 500
	if v := os.Getenv("SEALPACK_BENCH_MB"); v != "" {
		fmt.Sscan(v, &mb)
	}
	dir := b.TempDir()
	var ins []string
	for _, name := range []string{"a", "b"} {
		ctxDir := filepath.Join(dir, name)
		tree := filepath.Join(ctxDir, "tree-"+name)
		if _, _, err := benchtree.Write(tree, int64(mb)<<20); err != nil {
			b.Fatal(err)
		}
		// The trees are alike: one more line in each file of the second
		// makes every blob its own, so merge copies the whole of both.
		if name == "b" {
			filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
					if err == nil {
						f.WriteString("b\n")
						f.Close()
					}
				}
				return nil
			})
		}
		os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY tree-"+name+" /"+name+"/\n"), 0o644)
		o := opts(ctxDir, filepath.Join(dir, name+".run"))
		if _, err := Build(context.Background(), o); err != nil {
			b.Fatal(err)
		}
		ins = append(ins, o.Output)
	}
	out, ref := filepath.Join(dir, "c.run"), filepath.Join(dir, "cat.out")
	var mergeT, catT []time.Duration
	for b.Loop() {
		exec.Command("sync").Run()
		start := time.Now()
		if _, err := Merge(context.Background(), MergeOptions{Inputs: ins, Output: out, Stub: fakeStub}); err != nil {
			b.Fatal(err)
		}
		mergeT = append(mergeT, time.Since(start))
		exec.Command("sync").Run()
		start = time.Now()
		if err := exec.Command("sh", "-c", "cat "+ins[0]+" "+ins[1]+" > "+ref).Run(); err != nil {
			b.Fatal(err)
		}
		catT = append(catT, time.Since(start))
	}
	m, c := median(mergeT), median(catT)
	b.ReportMetric(m.Seconds(), "merge-s")
	b.ReportMetric(c.Seconds(), "cat-s")
	b.ReportMetric(m.Seconds()/c.Seconds(), "cat-ratio")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return s[len(s)/2]
}
