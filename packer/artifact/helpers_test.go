package artifact

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
)

// writeInstaller writes an installer of files for platform, split in parts
// of split bytes when split > 0. Names ending in .gz hold random bytes and
// are stored raw, as image layers are.
func writeInstaller(t testing.TB, dir, platform string, files map[string][]byte, split int64) string {
	t.Helper()
	return writeWithMeta(t, dir, payload.Meta{Platform: platform, Labels: map[string]string{payload.LabelTitle: "test app", payload.LabelVersion: "1.0"}, Cmds: []string{"echo hi"}}, files, split)
}

// writeWithMeta writes an installer of files with meta (Files filled in).
func writeWithMeta(t testing.TB, dir string, meta payload.Meta, files map[string][]byte, split int64) string {
	t.Helper()
	platform := meta.Platform
	out := filepath.Join(dir, strings.ReplaceAll(platform, "/", "-")+".run")
	var opts []payload.Option
	if split > 0 {
		opts = append(opts, payload.WithSplit(split))
	}
	w, err := payload.Create(out, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStub(strings.NewReader("#!/bin/sh\n# test stub for " + platform + "\n")); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var srcs []payload.Source
	for _, p := range paths {
		b := files[p]
		c := payload.Auto
		if payload.IsCompressed(p) {
			c = payload.Never
		}
		srcs = append(srcs, payload.Source{Name: p, Compress: c, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
	}
	digests, err := w.Add(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		meta.Files = append(meta.Files, payload.File{Path: p, Type: payload.TypeFile, Mode: 0o644, Size: int64(len(files[p])), Digest: digests[i]})
	}
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	return out
}

// someFiles is a rootfs with text, a multi-chunk file and raw layers.
func someFiles(seed uint64) map[string][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"etc/config.yaml":  []byte("key: value\n"),
		"manifests/a.yaml": bytes.Repeat([]byte("kind: ConfigMap\n"), 500),
		"share/big.txt":    bytes.Repeat([]byte("a line of text that repeats, for zstd\n"), 250_000),
	}
	for i, n := range []int{3 << 20, 5 << 20, 200 << 10} {
		files["images/blobs/layer"+string(rune('a'+i))+".gz"] = random(n)
	}
	return files
}

// sameFiles fails unless the installer at got (and its parts) has the bytes
// of the one at want.
func sameFiles(t *testing.T, want, got string) {
	t.Helper()
	wm, _ := filepath.Glob(want + ".[0-9][0-9][0-9]")
	gm, _ := filepath.Glob(got + ".[0-9][0-9][0-9]")
	if len(wm) != len(gm) {
		t.Fatalf("%d parts pulled, %d pushed", len(gm), len(wm))
	}
	pairs := [][2]string{{want, got}}
	for i := range wm {
		pairs = append(pairs, [2]string{wm[i], gm[i]})
	}
	for _, p := range pairs {
		a, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s (%d bytes) differs from %s (%d bytes)", p[1], len(b), p[0], len(a))
		}
	}
}

// verifies fails unless the installer at path passes its own verify.
func verifies(t *testing.T, path string) {
	t.Helper()
	r, err := payload.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatalf("verify %s: %v", path, err)
	}
}

// access reaches reg; with user set, with --registry-auth credentials.
func access(t testing.TB, reg *testRegistry, user, password string) Options {
	t.Helper()
	o := pull.Options{Keychain: authn.NewMultiKeychain()} // not the user's docker config
	if user != "" {
		o.Auth = map[string]authn.Basic{reg.host: {Username: user, Password: password}}
	}
	a, err := pull.NewAccess(o)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Access: a}
}

// fakeStub stands in for the installer program in builds.
func fakeStub(platform string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("#!/bin/sh\n# sealpack test stub for " + platform + "\nexit 0\n")), nil
}

// build runs a Kubefile (given as text) over files, for linux/amd64.
func buildKubefile(t testing.TB, kubefile string, files map[string][]byte, bases func(ctx context.Context, ref, platform string) (string, error)) string {
	t.Helper()
	dir := t.TempDir()
	files["Kubefile"] = []byte(kubefile)
	for p, b := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "out.run")
	var log bytes.Buffer
	_, err := packer.Build(context.Background(), packer.BuildOptions{ContextDir: dir, Output: out, Platform: "linux/amd64",
		Stub: fakeStub, TempDir: t.TempDir(), Log: &log, Bases: bases})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	return out
}
