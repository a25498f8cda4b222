package payload

import (
	"context"
	"fmt"
	"github.com/sealpack/sealpack/internal/benchtree"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkWrite stores a tree of mixed content (half random data in files
// of many sizes, a quarter Go sources, a quarter Go binaries: the tree of
// packer's BenchmarkBuild) and compares with `tar -c | zstd -T0 -3` of the
// same tree, measured in the same run: size-ratio, time-ratio (wall) and
// cpu-ratio (user+system time, the fair figure on a shared machine). Times
// are the best of the runs (tar|zstd: of three), as the machine is shared.
//
// Environment: SEALPACK_BENCH_MB (tree size, default 200), SEALPACK_BENCH_DIR
// (keep the tree there between runs), and for tuning SEALPACK_BENCH_LEVEL
// (fastest|default|better), SEALPACK_BENCH_CHUNK and SEALPACK_BENCH_SOLID (KiB).
func BenchmarkWrite(b *testing.B) {
	root, paths := benchInput(b)
	_, total := listTree(b, root)
	opts := benchOptions(b)
	out := filepath.Join(b.TempDir(), "bench.run")

	ref := filepath.Join(b.TempDir(), "ref.tar.zst")
	refWall, refCPU := best(3, true, func() error {
		return exec.Command("sh", "-c", `tar -C "$1" -c . | zstd -q -f -T0 -3 -o "$2"`, "sh", root, ref).Run()
	})
	refSize := fileSize(b, ref)

	b.SetBytes(total)
	b.ResetTimer()
	wall, cpu := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		w, c := measure(false, func() error { return writeTree(out, root, paths, opts) })
		wall, cpu = min(wall, w), min(cpu, c)
	}
	b.StopTimer()
	size := fileSize(b, out) - int64(len("stub"))
	b.ReportMetric(float64(len(paths)), "files")
	b.ReportMetric(float64(size)/float64(refSize), "size-ratio")
	b.ReportMetric(wall.Seconds()/refWall.Seconds(), "time-ratio")
	b.ReportMetric(cpu.Seconds()/refCPU.Seconds(), "cpu-ratio")
	b.ReportMetric(refCPU.Seconds(), "tarzst-cpu-s")

}

// BenchmarkExtract extracts the tree of BenchmarkWrite and compares with
// `zstd -d | tar -x` of the same tree (goal: at least 80% of its throughput,
// time-ratio <= 1.25).
func BenchmarkExtract(b *testing.B) {
	root, paths := benchInput(b)
	dir := b.TempDir()
	out, ref := filepath.Join(dir, "bench.run"), filepath.Join(dir, "ref.tar.zst")
	if err := writeTree(out, root, paths, benchOptions(b)); err != nil {
		b.Fatal(err)
	}
	if err := exec.Command("sh", "-c", `tar -C "$1" -c . | zstd -q -f -T0 -3 -o "$2"`, "sh", root, ref).Run(); err != nil {
		b.Fatal(err)
	}
	r := mustOpen(b, out)
	x := filepath.Join(dir, "x")
	refWall, refCPU := best(3, true, func() error {
		os.RemoveAll(x)
		os.MkdirAll(x, 0o755)
		return exec.Command("sh", "-c", `zstd -d -q -c "$1" | tar -C "$2" -x`, "sh", ref, x).Run()
	})
	wall, cpu := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		os.RemoveAll(x)
		w, c := measure(false, func() error { return r.Extract(context.Background(), x, nil) })
		wall, cpu = min(wall, w), min(cpu, c)
	}
	b.ReportMetric(wall.Seconds()/refWall.Seconds(), "time-ratio")
	b.ReportMetric(cpu.Seconds()/refCPU.Seconds(), "cpu-ratio")
}

// BenchmarkVerify verifies the payload of BenchmarkWrite's tree and compares
// with sha256sum of the installer (goal: time-ratio <= 1.25).
func BenchmarkVerify(b *testing.B) {
	root, paths := benchInput(b)
	out := filepath.Join(b.TempDir(), "bench.run")
	if err := writeTree(out, root, paths, benchOptions(b)); err != nil {
		b.Fatal(err)
	}
	r := mustOpen(b, out)
	refWall, refCPU := best(3, true, func() error { return exec.Command("sha256sum", out).Run() })
	wall, cpu := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		w, c := measure(false, func() error { return r.Verify(context.Background(), nil) })
		wall, cpu = min(wall, w), min(cpu, c)
	}
	b.ReportMetric(wall.Seconds()/refWall.Seconds(), "time-ratio")
	b.ReportMetric(cpu.Seconds()/refCPU.Seconds(), "cpu-ratio")
}

// benchInput returns the tree of the benchmarks (made once when
// SEALPACK_BENCH_DIR names where to keep it) and its files.
func benchInput(b *testing.B) (string, []string) {
	root := os.Getenv("SEALPACK_BENCH_DIR")
	if root == "" {
		root = filepath.Join(b.TempDir(), "tree")
	}
	if _, err := os.Stat(root); err != nil {
		if _, _, err := benchtree.Write(root, int64(envInt("SEALPACK_BENCH_MB", 200))<<20); err != nil {
			b.Fatal(err)
		}
	}
	paths, _ := listTree(b, root)
	return root, paths
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		fmt.Sscan(v, &def)
	}
	return def
}

func benchOptions(b *testing.B) []Option {
	var opts []Option
	switch l := os.Getenv("SEALPACK_BENCH_LEVEL"); l {
	case "":
	case "fastest":
		opts = append(opts, WithLevel(zstd.SpeedFastest))
	case "default":
		opts = append(opts, WithLevel(zstd.SpeedDefault))
	case "better":
		opts = append(opts, WithLevel(zstd.SpeedBetterCompression))
	default:
		b.Fatalf("SEALPACK_BENCH_LEVEL=%s: want fastest, default or better", l)
	}
	if kb := envInt("SEALPACK_BENCH_CHUNK", 0); kb > 0 {
		opts = append(opts, WithChunkSize(kb<<10))
	}
	if kb := envInt("SEALPACK_BENCH_SOLID", -1); kb >= 0 {
		opts = append(opts, WithSolidSize(kb<<10))
	}
	return opts
}

// best returns the lowest wall and CPU time of n runs of f (see measure):
// the machine is shared, and the lowest is the least disturbed.
func best(n int, children bool, f func() error) (wall, cpu time.Duration) {
	wall, cpu = time.Duration(1<<62), time.Duration(1<<62)
	for range n {
		w, c := measure(children, f)
		wall, cpu = min(wall, w), min(cpu, c)
	}
	return wall, cpu
}

// measure returns the wall and CPU time of f: of this process, or of the
// child processes it waits for.
func measure(children bool, f func() error) (time.Duration, time.Duration) {
	who := syscall.RUSAGE_SELF
	if children {
		who = syscall.RUSAGE_CHILDREN
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(who, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	if err := f(); err != nil {
		panic(err)
	}
	return time.Since(t0), cpu() - c0
}

func writeTree(out, root string, paths []string, opts []Option) error {
	w, err := Create(out, opts...)
	if err != nil {
		return err
	}
	w.WriteStub(strings.NewReader("stub"))
	srcs := make([]Source, len(paths))
	for i, p := range paths {
		c := Auto
		if IsCompressed(p) {
			c = Never
		}
		full := filepath.Join(root, p)
		srcs[i] = Source{Name: p, Compress: c, Open: func() (io.ReadCloser, error) { return os.Open(full) }}
	}
	digests, err := w.Add(context.Background(), srcs)
	if err != nil {
		w.Abort()
		return err
	}
	files := make([]File, len(paths))
	for i, p := range paths {
		files[i] = File{Path: p, Type: TypeFile, Mode: 0o644, Digest: digests[i]}
	}
	return w.Commit(Meta{Platform: "linux/amd64", Files: files})
}

// listTree returns the regular files under root, sorted, and their bytes.
func listTree(b testing.TB, root string) ([]string, int64) {
	var paths []string
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		paths = append(paths, filepath.ToSlash(rel))
		total += info.Size()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return paths, total
}

func fileSize(b *testing.B, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
