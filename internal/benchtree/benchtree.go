// Package benchtree writes the mixed tree the build, payload and make-bench
// figures are measured on, so that all of them speak of the same content.
package benchtree

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Write writes about size bytes under root: half random (like compressed
// layers and archives) in files of 100 B to 8 MiB, most of them small and
// most bytes in big ones; a quarter real text (the Go installation's
// sources: thousands of small files); a quarter real executables (the Go
// toolchain's, as an installer mostly carries Go binaries). Without a Go
// installation, text and binaries are generated. The same size gives the
// same tree.
func Write(root string, size int64) (total int64, files int, err error) {
	rng := rand.New(rand.NewPCG(1, 2))
	chacha := rand.NewChaCha8([32]byte{42})
	write := func(p string, data []byte) {
		if err != nil {
			return
		}
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.WriteFile(p, data, 0o644)
		}
		total += int64(len(data))
		files++
	}
	var written int64
	for i := 0; written < size/2; i++ {
		var n int
		switch {
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
	goroot := runtime.GOROOT()
	copied := copyTree(filepath.Join(goroot, "src"), filepath.Join(root, "text"), size/4, func(p string) bool { return strings.HasSuffix(p, ".go") }, write)
	for i := 0; copied < size/4; i++ {
		n := int(min(int64(100+rng.IntN(64<<10)), size/4-copied))
		write(filepath.Join(root, "text-gen", fmt.Sprintf("f%05d.txt", i)), genText(rng, n))
		copied += int64(n)
	}
	copied = 0
	for _, dir := range []string{filepath.Join(goroot, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH), filepath.Join(goroot, "bin")} {
		copied += copyTree(dir, filepath.Join(root, "bin", filepath.Base(dir)), size/4-copied, func(string) bool { return true }, write)
	}
	for i := 0; copied < size/4; i++ {
		n := int(min(int64(1<<20+rng.IntN(8<<20)), size/4-copied))
		write(filepath.Join(root, "bin-gen", fmt.Sprintf("f%05d", i)), genText(rng, n))
		copied += int64(n)
	}
	return total, files, err
}

// copyTree copies regular files of src (walk order) that keep accepts, up to
// limit bytes (the last one cut short), and returns the bytes copied.
func copyTree(src, dst string, limit int64, keep func(string) bool, write func(string, []byte)) int64 {
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
		data = data[:min(int64(len(data)), limit-n)]
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
