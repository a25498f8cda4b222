package packer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/payload"
)

// fakeStub stands in for the installer program: the payload does not care
// what precedes it.
func fakeStub(platform string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("#!/bin/sh\n# sealpack test stub for " + platform + "\nexit 0\n")), nil
}

// testContext copies testdata/name into a temporary directory, so tests can
// add files and the copy's modes do not depend on the checkout.
func testContext(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := copyDir(filepath.Join("testdata", name), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			return os.Chmod(out, 0o755) // whatever the umask
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, data, 0o600); err != nil {
			return err
		}
		return os.Chmod(out, info.Mode().Perm()|0o600)
	})
}

func opts(ctxDir, out string) BuildOptions {
	return BuildOptions{ContextDir: ctxDir, Output: out, Platform: "linux/amd64", Stub: fakeStub, TempDir: os.TempDir()}
}

func mustBuild(t testing.TB, o BuildOptions) *Result {
	t.Helper()
	var log bytes.Buffer
	if o.Log == nil {
		o.Log = &log
	}
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("Build: %v\nlog:\n%s", err, log.String())
	}
	return res
}

func open(t testing.TB, path string) *payload.Reader {
	t.Helper()
	r, err := payload.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func readFile(t testing.TB, r *payload.Reader, p string) string {
	t.Helper()
	data, err := r.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return string(data)
}

// listing renders an index for golden files: every entry with its mode and
// size, then labels, env and cmds.
func listing(idx *payload.Index) string {
	var b strings.Builder
	for _, f := range idx.Files {
		switch f.Type {
		case payload.TypeDir:
			fmt.Fprintf(&b, "%04o dir     %s/\n", f.Mode, f.Path)
		case payload.TypeSymlink:
			fmt.Fprintf(&b, "%04o symlink %s -> %s\n", f.Mode, f.Path, f.Target)
		default:
			fmt.Fprintf(&b, "%04o file    %s (%d bytes)\n", f.Mode, f.Path, f.Size)
		}
	}
	keys := make([]string, 0, len(idx.Labels))
	for k := range idx.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "label %s=%s\n", k, idx.Labels[k])
	}
	for _, e := range idx.Env {
		fmt.Fprintf(&b, "env %s\n", e)
	}
	for _, c := range idx.Cmds {
		fmt.Fprintf(&b, "cmd %s\n", c)
	}
	return b.String()
}

// leftovers lists what is in dir besides the names given.
func leftovers(t testing.TB, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !slices.Contains(keep, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

var time0 = time.Unix(1e9, 0)
