package payload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

// fixtures are small installers kept in testdata: a valid one and corrupt
// variants, so the format is pinned and the fuzzer has seeds. They are named
// .payload, not .run: the repository ignores *.run (built installers).
func fixtures(t testing.TB) map[string][]byte {
	dir := filepath.Join("testdata", "fixtures")
	if *update {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		// Chunks of 1 KiB: kubeadm spans three of its own, etc/x is random
		// (a raw chunk of its own), and the small texts share chunks, one of
		// them across a chunk boundary, one of them twice.
		files := []testFile{
			{"bin/kubeadm", content(7, 3000, true), 0o755},
			{"etc/a.yaml", content(9, 400, true), 0o644},
			{"etc/b.yaml", content(10, 500, true), 0o644},
			{"etc/c.yaml", content(11, 300, true), 0o644},
			{"etc/copy.yaml", content(10, 500, true), 0o644},
			{"etc/x", content(8, 700, false), 0o600},
		}
		small := build(t, t.TempDir(), files, WithChunkSize(1024))
		b, _ := os.ReadFile(small)
		os.WriteFile(filepath.Join(dir, "small.payload"), b, 0o644)
		os.WriteFile(filepath.Join(dir, "truncated.payload"), b[:len(b)-10], 0o644)
		flipped := bytes.Clone(b)
		flipped[len(b)/2] ^= 1
		os.WriteFile(filepath.Join(dir, "flipped.payload"), flipped, 0o644)
		// Signed: a block between index and trailer (signature.go), and
		// the same with a byte of the block flipped.
		signed, _ := os.ReadFile(build(t, t.TempDir(), files, WithChunkSize(1024), WithSigner(fakeSigner("vendor"))))
		os.WriteFile(filepath.Join(dir, "signed.payload"), signed, 0o644)
		garbled := bytes.Clone(signed)
		garbled[len(signed)-TrailerSize-5] ^= 1
		os.WriteFile(filepath.Join(dir, "signed-garbled.payload"), garbled, 0o644)
	}
	out := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestFixtures(t *testing.T) {
	fx := fixtures(t)
	if len(fx) < 5 {
		t.Fatal("fixtures missing; run go test ./payload -run TestFixtures -update")
	}
	for name, want := range map[string]bool{"small.payload": true, "truncated.payload": false, "flipped.payload": false,
		"signed.payload": true, "signed-garbled.payload": false} {
		err := readAll(fx[name])
		if (err == nil) != want {
			t.Errorf("%s: err = %v, want ok=%v", name, err, want)
		}
	}
	// The fixture pins shared chunks: a blob that starts inside its chunk
	// and one that spans two.
	b := fx["small.payload"]
	r, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var skipped, spanning bool
	for _, bl := range r.Index().Blobs {
		skipped = skipped || bl.Skip > 0
		spanning = spanning || bl.Skip > 0 && len(bl.Chunks) > 1
	}
	if !skipped || !spanning {
		t.Errorf("small.payload has no shared chunks (skip %v, spanning %v): regenerate with -update", skipped, spanning)
	}
}

// TestVersion1 reads installers written by format version 1 (one chunk run
// per blob, an empty blob as one empty chunk): they stay readable, split
// parts included (their set id is the same in both versions).
func TestVersion1(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "v1", "small.payload"))
	if err != nil {
		t.Fatal(err)
	}
	if err := readAll(b); err != nil {
		t.Fatal(err)
	}
	r, err := Open(filepath.Join("testdata", "v1", "split.payload"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.Index().Parts) < 3 || r.Index().Version != 1 {
		t.Fatalf("split.payload: %d parts, version %d", len(r.Index().Parts), r.Index().Version)
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Extract(context.Background(), t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := r.ReadFile("etc/y"); err != nil || !bytes.Equal(got, content(9, 2500, true)) {
		t.Fatalf("etc/y: %v", err)
	}
}

// readAll opens b as an installer and reads everything it claims to hold.
func readAll(b []byte) error {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		return err
	}
	for _, f := range r.Index().Files {
		if f.Type != TypeFile {
			continue
		}
		rc, err := r.Open(f.Digest)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			return err
		}
		ra, _ := r.ReaderAt(f.Digest)
		ra.ReadAt(make([]byte, 10), f.Size/2)
	}
	return r.Verify(context.Background(), nil)
}

func FuzzReader(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		readAll(b) // must not panic or hang
	})
}

// FuzzIndex reaches past the trailer checks: it wraps fuzzed index JSON in a
// valid trailer, so crafted indexes (chunks out of range, bad paths, huge
// sizes) meet the index validation and the readers.
func FuzzIndex(f *testing.F) {
	for _, b := range fixtures(f) {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			continue
		}
		js, _ := json.Marshal(r.Index())
		f.Add(js, b[:r.Index().StubSize+r.Index().DataSize])
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	f.Fuzz(func(t *testing.T, index, head []byte) {
		readAll(wrapIndex(enc, index, head)) // must not panic or hang
	})
}

// wrapIndex makes an installer of head (stub and data area) and the index
// JSON, behind a valid trailer.
func wrapIndex(enc *zstd.Encoder, index, head []byte) []byte {
	stored := enc.EncodeAll(index, nil)
	var idx Index
	stub := int64(0)
	if json.Unmarshal(index, &idx) == nil && idx.StubSize >= 0 && idx.StubSize <= int64(len(head)) {
		stub = idx.StubSize
	}
	tr := trailer{version: Version, stubSize: stub, indexOffset: int64(len(head)), indexLen: int64(len(stored)), indexSHA: sha256.Sum256(stored)}
	return append(append(bytes.Clone(head), stored...), tr.marshal()...)
}

// FuzzSignature puts fuzzed bytes between the index and a trailer flagged
// signed: whatever they are, the reader opens the installer, bounds what it
// reads, and either returns the block's content or says why not, without
// panicking.
func FuzzSignature(f *testing.F) {
	fx := fixtures(f)
	base := fx["small.payload"]
	for _, name := range []string{"signed.payload", "signed-garbled.payload"} {
		b := fx[name]
		tr, err := parseTrailer(b[len(b)-TrailerSize:], int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[tr.indexOffset+tr.indexLen : len(b)-TrailerSize])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, gap []byte) {
		b := withGap(t, base, gap)
		r, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatalf("the block made the installer unreadable: %v", err)
		}
		sig, err := r.Signature()
		if err == nil && !bytes.Equal(gap[signatureHeaderSize:], sig) {
			t.Fatalf("Signature() = %q from a block of %d bytes", sig, len(gap))
		}
		if err != nil && sig != nil {
			t.Fatal("content returned with an error")
		}
	})
}
