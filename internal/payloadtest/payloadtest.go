// Package payloadtest writes small installers for tests: a rootfs given as
// a map, with the index's metadata.
package payloadtest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// Write makes an installer of files (rootfs path to content) and meta, whose
// Files it fills in (bin/ and scripts/ executable), with the 4-byte program
// "stub"; the installer is closed when the test ends.
func Write(t testing.TB, files map[string][]byte, meta payload.Meta) *payload.Reader {
	t.Helper()
	return WriteWith(t, files, meta)
}

// WriteWith is Write with the Writer's options (a signer, a split size).
func WriteWith(t testing.TB, files map[string][]byte, meta payload.Meta, opts ...payload.Option) *payload.Reader {
	t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := filepath.Join(t.TempDir(), "app.run")
	w, err := payload.Create(out, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStub(strings.NewReader("stub")); err != nil {
		t.Fatal(err)
	}
	srcs := make([]payload.Source, 0, len(paths))
	for _, p := range paths {
		b := files[p]
		srcs = append(srcs, payload.Source{Name: p, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
	}
	digests, err := w.Add(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "bin/") || strings.HasPrefix(p, "scripts/") {
			mode = 0o755
		}
		meta.Files = append(meta.Files, payload.File{Path: p, Type: payload.TypeFile, Mode: mode, Size: int64(len(files[p])), Digest: digests[i]})
	}
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	r, err := payload.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
