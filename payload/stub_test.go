package payload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartStub writes the stub in the background while Add runs: the
// installer must equal one whose stub was written first, and its index must
// carry the stub's sha256.
func TestStartStub(t *testing.T) {
	dir := t.TempDir()
	stub := content(9, 3<<20+5, false)
	files := mixedFiles()
	write := func(name string, start bool) string {
		out := filepath.Join(dir, name)
		w, err := Create(out, WithChunkSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		if start {
			err = w.StartStub(io.NopCloser(bytes.NewReader(stub)), int64(len(stub)))
		} else {
			err = w.WriteStub(bytes.NewReader(stub))
		}
		if err != nil {
			t.Fatal(err)
		}
		digests, err := w.Add(context.Background(), sources(files))
		if err != nil {
			t.Fatal(err)
		}
		var meta Meta
		for i, f := range files {
			meta.Files = append(meta.Files, File{Path: f.path, Type: TypeFile, Mode: 0o644, Size: int64(len(f.data)), Digest: digests[i]})
		}
		r := commitOpen(t, w, meta, out)
		if got := w.PayloadBytes(); got != r.PayloadBytes() {
			t.Errorf("Writer.PayloadBytes = %d, the file says %d", got, r.PayloadBytes())
		}
		if err := r.Verify(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(stub)
		if r.Index().StubSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("stub sha256 %s, want %x", r.Index().StubSHA256, sum)
		}
		return out
	}
	a, b := write("sync.run", false), write("async.run", true)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("StartStub and WriteStub give different installers")
	}
}

// TestStartStubShort fails Commit, and leaves nothing, when the stub is not
// as long as announced.
func TestStartStubShort(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "app.run")
	w, err := Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartStub(io.NopCloser(strings.NewReader("short")), 100); err != nil {
		t.Fatal(err)
	}
	err = w.Commit(Meta{})
	if err == nil || !strings.Contains(err.Error(), "read 5 bytes, expected 100") {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

// TestCommitReplaces puts the new installer (and its parts) in place of an
// older one with more parts, and reports the sizes it wrote.
func TestCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	out := build(t, dir, mixedFiles(), WithSplit(1<<20))
	if _, err := os.Stat(out + ".005"); err != nil {
		t.Fatal("expected at least five parts:", err)
	}
	build(t, dir, mixedFiles()[2:5], WithSplit(1<<20))
	r := mustOpen(t, out)
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	n := len(r.Index().Parts)
	if _, err := os.Stat(out + partSuffix(n)); err == nil {
		t.Errorf("a stale part %s is left", partSuffix(n))
	}
}
