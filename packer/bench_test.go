package packer

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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
	total, files := genTree(b, filepath.Join(ctxDir, "tree"), int64(mb)<<20)
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

// genTree writes about size bytes under root: half random (like compressed
// layers and archives) in files of many sizes; a quarter real text (Go
// sources of the Go installation: thousands of small files); a quarter real
// executables (the Go toolchain's: what an installer carries are mostly Go
// binaries). Without a Go installation, text and binaries are generated.
func genTree(b *testing.B, root string, size int64) (total int64, files int) {
	rng := rand.New(rand.NewPCG(1, 2))
	chacha := rand.NewChaCha8([32]byte{42})
	write := func(p string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
		files++
	}
	var written int64
	for i := 0; written < size/2; i++ {
		var n int
		switch { // 100 B .. 8 MiB, most files small, most bytes in big ones
		case i%50 == 0:
			n = 1<<20 + rng.IntN(7<<20)
		case i%5 == 0:
			n = 16<<10 + rng.IntN(240<<10)
		default:
			n = 100 + rng.IntN(24<<10)
		}
		n = int(min(int64(n), size/2-written))
		data := make([]byte, n)
		chacha.Read(data)
		write(filepath.Join(root, "random", fmt.Sprintf("d%02d", i%23), fmt.Sprintf("f%05d.bin", i)), data)
		written += int64(n)
	}
	goroot := ""
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	copied := copyReal(b, filepath.Join(goroot, "src"), filepath.Join(root, "text"), size/4, func(p string) bool { return strings.HasSuffix(p, ".go") }, write)
	for i := 0; copied < size/4; i++ {
		n := int(min(int64(100+rng.IntN(64<<10)), size/4-copied))
		write(filepath.Join(root, "text-gen", fmt.Sprintf("f%05d.yaml", i)), genText(rng, n))
		copied += int64(n)
	}
	copied = 0
	for _, dir := range []string{filepath.Join(goroot, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH), filepath.Join(goroot, "bin")} {
		copied += copyReal(b, dir, filepath.Join(root, "bin", filepath.Base(dir)), size/4-copied, func(string) bool { return true }, write)
	}
	for i := 0; copied < size/4; i++ {
		n := int(min(int64(1<<20+rng.IntN(8<<20)), size/4-copied))
		write(filepath.Join(root, "bin-gen", fmt.Sprintf("f%05d", i)), genText(rng, n))
		copied += int64(n)
	}
	return total, files
}

// copyReal copies regular files of src (walk order) that keep accepts, up to
// limit bytes (the last one cut short), and returns the bytes copied.
func copyReal(b *testing.B, src, dst string, limit int64, keep func(string) bool, write func(string, []byte)) int64 {
	var n int64
	if src == "" || limit <= 0 {
		return 0
	}
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || n >= limit {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !keep(p) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if int64(len(data)) > limit-n {
			data = data[:limit-n]
		}
		rel, _ := filepath.Rel(src, p)
		write(filepath.Join(dst, rel), data)
		n += int64(len(data))
		return nil
	})
	return n
}

// genText makes YAML- and log-like lines.
func genText(rng *rand.Rand, n int) []byte {
	words := []string{"apiVersion:", "kind:", "metadata:", "name:", "namespace:", "spec:", "containers:", "image:",
		"replicas:", "selector:", "matchLabels:", "app:", "ports:", "containerPort:", "env:", "value:", "kube-system",
		"deployment", "service", "nginx", "registry.k8s.io", "true", "false", "INFO", "WARN", "request", "handled",
		"in", "ms", "user", "the", "of", "a", "to", "and", "for", "echo", "if", "then", "fi", "export", "PATH"}
	var b bytes.Buffer
	b.Grow(n + 64)
	for b.Len() < n {
		for range rng.IntN(4) * 2 {
			b.WriteByte(' ')
		}
		for w := rng.IntN(8) + 1; w > 0; w-- {
			b.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(6) == 0 {
				fmt.Fprintf(&b, "-%d", rng.IntN(1000))
			}
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}
