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

// fixtures are small installers kept in testdata: a valid one, a split one
// and corrupt variants, so the format is pinned and the fuzzer has seeds.
func fixtures(t testing.TB) map[string][]byte {
	dir := filepath.Join("testdata", "fixtures")
	if *update {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		files := []testFile{{"bin/kubeadm", content(7, 3000, true), 0o755}, {"etc/x", content(8, 700, false), 0o600}}
		small := build(t, t.TempDir(), files, WithChunkSize(1024))
		b, _ := os.ReadFile(small)
		os.WriteFile(filepath.Join(dir, "small.run"), b, 0o644)
		os.WriteFile(filepath.Join(dir, "truncated.run"), b[:len(b)-10], 0o644)
		flipped := bytes.Clone(b)
		flipped[len(b)/2] ^= 1
		os.WriteFile(filepath.Join(dir, "flipped.run"), flipped, 0o644)
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
	if len(fx) < 3 {
		t.Fatal("fixtures missing; run go test ./payload -run TestFixtures -update")
	}
	for name, want := range map[string]bool{"small.run": true, "truncated.run": false, "flipped.run": false} {
		err := readAll(fx[name])
		if (err == nil) != want {
			t.Errorf("%s: err = %v, want ok=%v", name, err, want)
		}
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
		stored := enc.EncodeAll(index, nil)
		var idx Index
		stub := int64(0)
		if json.Unmarshal(index, &idx) == nil && idx.StubSize >= 0 && idx.StubSize <= int64(len(head)) {
			stub = idx.StubSize
		}
		tr := trailer{version: Version, stubSize: stub, indexOffset: int64(len(head)), indexLen: int64(len(stored)), indexSHA: sha256.Sum256(stored)}
		file := append(append(bytes.Clone(head), stored...), tr.marshal()...)
		readAll(file)
	})
}
