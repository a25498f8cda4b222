package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// stubOnce builds this package once per test binary, as sealpack's build
// ships it: static, so that it runs anywhere.
var stubOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sealpack-stub-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "stub")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: string(b)}
	}
	return out, nil
})

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./stub: " + e.err.Error() + "\n" + e.out }

// entry is one file of a test installer's rootfs.
type entry struct {
	data     []byte
	open     func() (io.ReadCloser, error) // instead of data, for big content
	size     int64
	compress payload.Compression
}

// installerSpec is what a test installer carries.
type installerSpec struct {
	files  map[string]entry
	labels map[string]string
	cmds   []string
	images []payload.Image // what the index says is carried (the layout is in files)
	apps   []payload.App   // their files are in files
	launch []string
}

// writeInstaller writes the real stub with a payload appended to path, as
// sealpack build does, and returns path.
func writeInstaller(t testing.TB, path string, spec installerSpec) string {
	t.Helper()
	stub, err := stubOnce()
	if err != nil {
		t.Fatal(err)
	}
	w, err := payload.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := os.Open(stub)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if err := w.WriteStub(sf); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(spec.files))
	for p := range spec.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	srcs := make([]payload.Source, len(paths))
	for i, p := range paths {
		e := spec.files[p]
		open := e.open
		if open == nil {
			data := e.data
			open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		}
		srcs[i] = payload.Source{Name: p, Open: open, Compress: e.compress}
	}
	digests, err := w.Add(context.Background(), srcs)
	if err != nil {
		w.Abort()
		t.Fatal(err)
	}
	meta := payload.Meta{Platform: "linux/amd64", Labels: spec.labels, Cmds: spec.cmds, Images: spec.images, Apps: spec.apps, Launch: spec.launch}
	for i, p := range paths {
		e := spec.files[p]
		size := e.size
		if e.open == nil {
			size = int64(len(e.data))
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "bin/") || strings.HasPrefix(p, "scripts/") {
			mode = 0o755
		}
		meta.Files = append(meta.Files, payload.File{Path: p, Type: payload.TypeFile, Mode: mode, Size: size, Digest: digests[i]})
	}
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	return path
}

// bytesEntry is a small file of a test installer.
func bytesEntry(s string) entry { return entry{data: []byte(s)} }

// entries turns file contents into installer entries.
func entries(files map[string][]byte) map[string]entry {
	out := make(map[string]entry, len(files))
	for p, b := range files {
		out[p] = entry{data: b}
	}
	return out
}
