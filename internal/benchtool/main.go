// Command benchtool prints sealpack's performance figures side by side with
// their references, measured in the same run (make bench). The machines are
// noisy: every figure is the median of several runs, and the ratios are what
// count.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sealpack/sealpack/internal/benchtree"
)

func main() {
	sealpack := flag.String("sealpack", "bin/sealpack", "sealpack binary")
	size := flag.Int("mb", 200, "size of the mixed tree in MiB")
	runs := flag.Int("runs", 3, "runs per figure (the median counts)")
	tree := flag.String("tree", "", "only write the mixed tree into this directory (for profiling)")
	flag.Parse()
	if *tree != "" {
		if err := mixedTree(*tree, *size<<20); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*sealpack, *size<<20, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sealpack string, size, runs int) error {
	sealpack, _ = filepath.Abs(sealpack)
	tmp, err := os.MkdirTemp("", "sealpack-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx := filepath.Join(tmp, "ctx")
	if err := mixedTree(ctx, size); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(ctx, "Kubefile"), []byte("FROM scratch\nCOPY data /data\n"), 0o644)
	out := filepath.Join(tmp, "app.run")
	ref := filepath.Join(tmp, "ref.tar.zst")
	fmt.Printf("mixed tree: %d MiB (half random, a quarter Go sources, a quarter Go binaries)\n%d runs each, sealpack and reference alternating, each after a sync; medians\n\n", size>>20, runs)
	fmt.Printf("%-34s %12s %12s %8s %8s\n", "figure", "sealpack", "reference", "ratio", "limit")

	build, tarzst := pair(runs, nil, func() error {
		return sh(sealpack, "build", "-f", filepath.Join(ctx, "Kubefile"), "-o", out, ctx)
	}, func() error {
		return sh("bash", "-c", fmt.Sprintf("tar -C %s -cf - data | zstd -T0 -3 -q -f -o %s", ctx, ref))
	})
	row("build vs tar -c | zstd -T0 -3", build, tarzst, 1.5)

	var rep struct{ PayloadBytes int64 }
	js, err := exec.Command(out, "inspect", "--json").Output()
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	json.Unmarshal(js, &rep)
	st, _ := os.Stat(ref)
	fmt.Printf("%-34s %12s %12s %8.3f %8.2f\n", "payload size vs tar.zst", mib(rep.PayloadBytes), mib(st.Size()), float64(rep.PayloadBytes)/float64(st.Size()), 1.01)

	verify, sha := pair(runs, nil, func() error { return sh(out, "verify") }, func() error { return sh("sha256sum", out) })
	row("verify vs sha256sum (time)", verify, sha, 1/0.8)
	if err := signing(sealpack, tmp, ctx, runs); err != nil {
		return err
	}

	x1, x2 := filepath.Join(tmp, "x1"), filepath.Join(tmp, "x2")
	clean := func() {
		os.RemoveAll(x1)
		os.RemoveAll(x2)
		os.MkdirAll(x2, 0o755)
	}
	extract, unzst := pair(runs, clean, func() error { return sh(out, "extract", x1) }, func() error {
		return sh("bash", "-c", fmt.Sprintf("zstd -d -c -q %s | tar -C %s -xf -", ref, x2))
	})
	row("extract vs zstd -d | tar -x", extract, unzst, 1/0.8)

	small := filepath.Join(tmp, "small")
	os.MkdirAll(filepath.Join(small, "data"), 0o755)
	os.WriteFile(filepath.Join(small, "data", "f"), randomBytes(1, 1<<20), 0o644)
	os.WriteFile(filepath.Join(small, "Kubefile"), []byte("FROM scratch\nCOPY data /data\n"), 0o644)
	smallOut := filepath.Join(tmp, "small.run")
	if err := sh(sealpack, "build", "-f", filepath.Join(small, "Kubefile"), "-o", smallOut, small); err != nil {
		return err
	}
	// A 400 MB installer: opening it must cost what opening a small one does.
	large := filepath.Join(tmp, "large")
	os.MkdirAll(filepath.Join(large, "data"), 0o755)
	for i := range 8 {
		os.WriteFile(filepath.Join(large, "data", fmt.Sprintf("layer-%d.tgz", i)), randomBytes(uint64(100+i), 50<<20), 0o644)
	}
	os.WriteFile(filepath.Join(large, "Kubefile"), []byte("FROM scratch\nCOPY data /data\n"), 0o644)
	largeOut := filepath.Join(tmp, "large.run")
	if err := sh(sealpack, "build", "-q", "-f", filepath.Join(large, "Kubefile"), "-o", largeOut, large); err != nil {
		return err
	}
	os.RemoveAll(large)
	bigIns, smallIns := pair(runs*3, nil, func() error { return sh(largeOut, "inspect", "--json") },
		func() error { return sh(smallOut, "inspect", "--json") })
	row(fmt.Sprintf("inspect %s vs 1 MiB installer", mib(fileSize(largeOut))), bigIns, smallIns, 2)
	fmt.Printf("%-34s %12s %12s %8s %8s\n", "inspect absolute", bigIns.Round(time.Millisecond), "", "", "<100ms")
	return nil
}

// signing prints issue 14's figures on the mixed tree: a build with
// --sign-key against one without, the signature's share of the build (the
// time the build reports for it), and verify --key against verify on the
// same signed installer.
func signing(sealpack, tmp, ctx string, runs int) error {
	key := filepath.Join(tmp, "bench")
	if err := sh(sealpack, "keygen", "--no-passphrase", "-o", key); err != nil {
		return err
	}
	out := filepath.Join(tmp, "signed.run")
	took := regexp.MustCompile(`\n  signed by .* in (\S+)\n`)
	var signs []time.Duration
	build := func(sign bool) func() error {
		return func() error {
			args := []string{"build", "-f", filepath.Join(ctx, "Kubefile"), "-o", out}
			if sign {
				args = append(args, "--sign-key", key+".key")
			}
			b, err := exec.Command(sealpack, append(args, ctx)...).Output()
			if err != nil {
				return fmt.Errorf("sealpack %s: %w", strings.Join(args, " "), err)
			}
			if !sign {
				return nil
			}
			m := took.FindSubmatch(b)
			if m == nil {
				return fmt.Errorf("the build does not say what signing took:\n%s", b)
			}
			d, err := time.ParseDuration(string(m[1]))
			signs = append(signs, d)
			return err
		}
	}
	signed, plain := pair(runs, nil, build(true), build(false))
	row("build --sign-key vs build", signed, plain, 1.05)
	share := median(signs)
	fmt.Printf("%-34s %12s %12s %8.5f %8s\n", "signing's share of build time", share, plain.Round(time.Millisecond), float64(share)/float64(plain), "~0")
	if err := build(true)(); err != nil { // the last build of the pair was unsigned
		return err
	}
	withKey, without := pair(runs*3, nil, func() error { return sh(out, "verify", "--key", key+".pub") }, func() error { return sh(out, "verify") })
	row("verify --key vs verify", withKey, without, 1.05)
	return nil
}

func row(name string, ours, ref time.Duration, limit float64) {
	ratio := float64(ours) / float64(ref)
	mark := ""
	if ratio > limit {
		mark = "  OVER"
	}
	fmt.Printf("%-34s %12s %12s %8.2f %8.2f%s\n", name, ours.Round(time.Millisecond), ref.Round(time.Millisecond), ratio, limit, mark)
}

// pair times a and b alternately, n times each, and returns their medians:
// the machine's drift then weighs on both alike. Before every timed run,
// prep (when set) runs and the page cache's dirty pages are written out
// (sync), so no run pays for the writes of the one before.
func pair(n int, prep func(), a, b func() error) (time.Duration, time.Duration) {
	var da, db []time.Duration
	timed := func(f func() error) time.Duration {
		if prep != nil {
			prep()
		}
		syscall.Sync()
		t := time.Now()
		if err := f(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return time.Since(t)
	}
	for range n {
		da = append(da, timed(a))
		db = append(db, timed(b))
	}
	return median(da), median(db)
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// mixedTree writes the shared benchmark tree under dir/data.
func mixedTree(dir string, size int) error {
	_, _, err := benchtree.Write(filepath.Join(dir, "data"), int64(size))
	return err
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}
