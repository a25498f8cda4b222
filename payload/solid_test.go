package payload

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// smallFiles are many small texts (with one duplicate) around a random file
// and a larger one: with 16 KiB chunks the texts share chunks, several cross
// a chunk boundary.
func smallFiles() []testFile {
	var files []testFile
	for i := range 40 {
		files = append(files, testFile{fmt.Sprintf("etc/conf-%02d.yaml", i), content(uint64(100+i), 700+i*37, true), 0o644})
	}
	files = append(files,
		testFile{"etc/dup.yaml", content(105, 700+5*37, true), 0o600}, // same as conf-05
		testFile{"etc/empty", nil, 0o644},
		testFile{"etc/random.bin", content(7, 3000, false), 0o644}, // stored raw, alone
		testFile{"bin/tool", content(8, 50<<10, true), 0o755},      // larger than the solid size
	)
	return files
}

func openBuilt(t *testing.T, files []testFile, opts ...Option) (*Reader, string) {
	t.Helper()
	dir := t.TempDir()
	out := build(t, dir, files, opts...)
	return mustOpen(t, out), out
}

// mustOpen opens the installer at out, closed when the test ends.
func mustOpen(t testing.TB, out string) *Reader {
	t.Helper()
	r, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// commitOpen commits w and opens what it wrote at out.
func commitOpen(t *testing.T, w *Writer, meta Meta, out string) *Reader {
	t.Helper()
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	return mustOpen(t, out)
}

var solidOpts = []Option{WithChunkSize(16 << 10), WithSolidSize(8 << 10)}

func TestSolidSharedChunks(t *testing.T) {
	files := smallFiles()
	r, _ := openBuilt(t, files, solidOpts...)
	idx := r.Index()

	// Every distinct content once: 40 texts, the empty file, the random file, the tool.
	if got, want := len(idx.Blobs), 43; got != want {
		t.Errorf("blobs = %d, want %d (the duplicate stored once)", got, want)
	}
	users := map[int64]int{} // chunk offset -> blobs in it
	var spanning *Blob
	for i := range idx.Blobs {
		b := &idx.Blobs[i]
		for _, c := range b.Chunks {
			users[c.Offset]++
		}
		if b.Skip > 0 && len(b.Chunks) == 2 && spanning == nil {
			spanning = b
		}
	}
	shared := 0
	for _, n := range users {
		if n > 1 {
			shared++
		}
	}
	if shared < 2 {
		t.Fatalf("%d shared chunks, want several: %+v", shared, users)
	}
	if spanning == nil {
		t.Fatal("no blob spans two shared chunks")
	}
	// Stored once: the data area is the distinct chunks, and so is Verify.
	var distinct int64
	for _, c := range idx.storedChunks() {
		distinct += c.Stored
	}
	if distinct != idx.DataSize || r.VerifyBytes() != idx.StubSize+distinct {
		t.Errorf("data %d, distinct chunks %d, verify bytes %d", idx.DataSize, distinct, r.VerifyBytes())
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	for _, f := range files {
		readBack(t, r, f)
	}

	// Random access across the boundary of two shared chunks, and every
	// single byte against the content.
	want := contentOf(t, files, spanning.Digest)
	ra, err := r.ReaderAt(spanning.Digest)
	if err != nil {
		t.Fatal(err)
	}
	cut := spanning.Chunks[0].Size - spanning.Skip // first byte in the second chunk
	p := make([]byte, 20)
	if n, err := ra.ReadAt(p, cut-10); err != nil || n != 20 || !bytes.Equal(p, want[cut-10:cut+10]) {
		t.Fatalf("ReadAt across chunks: n=%d err=%v", n, err)
	}
	for _, off := range []int64{0, 1, cut - 1, cut, int64(len(want)) - 1} {
		one := make([]byte, 1)
		if _, err := ra.ReadAt(one, off); err != nil || one[0] != want[off] {
			t.Fatalf("ReadAt(%d): %v", off, err)
		}
	}
	if n, err := ra.ReadAt(make([]byte, 10), int64(len(want))-5); n != 5 || err != io.EOF {
		t.Fatalf("ReadAt past the end: n=%d err=%v", n, err)
	}

	// The random file does not go into a shared chunk: raw, one section.
	fe, _ := r.File("etc/random.bin")
	if sec, ok := r.Section(fe.Digest); !ok || users[r.blobs[fe.Digest].Chunks[0].Offset] != 1 {
		t.Error("the random small file was packed or compressed")
	} else if got, _ := io.ReadAll(sec); !bytes.Equal(got, contentOf(t, files, fe.Digest)) {
		t.Error("section of the random file differs")
	}

	ext := filepath.Join(t.TempDir(), "x")
	if err := r.Extract(context.Background(), ext, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(ext, f.path))
		if err != nil || !bytes.Equal(got, f.data) {
			t.Fatalf("%s: extracted content differs: %v", f.path, err)
		}
		if st, _ := os.Stat(filepath.Join(ext, f.path)); st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
	}
}

func contentOf(t *testing.T, files []testFile, digest string) []byte {
	t.Helper()
	for _, f := range files {
		if digestOf(f.data) == digest {
			return f.data
		}
	}
	t.Fatalf("no file with digest %s", digest)
	return nil
}

// A chunk that only holds random bytes is stored raw, shared or not; its
// blobs are then sections of the file, whatever their skip.
func TestSolidRawSection(t *testing.T) {
	var files []testFile
	for i := range 12 {
		files = append(files, testFile{fmt.Sprintf("r/%02d", i), content(uint64(200+i), 300, false), 0o644}) // too small to judge: packed
	}
	r, _ := openBuilt(t, files, WithChunkSize(1024))
	skipped := 0
	for _, f := range files {
		fe, _ := r.File(f.path)
		b, _ := r.Blob(fe.Digest)
		if b.Chunks[0].Zstd {
			t.Fatalf("%s: random bytes stored compressed", f.path)
		}
		sec, ok := r.Section(fe.Digest)
		if !ok {
			if b.Raw() {
				t.Fatalf("%s: raw blob has no section", f.path)
			}
			continue
		}
		if got, _ := io.ReadAll(sec); !bytes.Equal(got, f.data) {
			t.Fatalf("%s: section (skip %d) differs", f.path, b.Skip)
		}
		if b.Skip > 0 {
			skipped++
		}
	}
	if skipped < 3 {
		t.Errorf("%d sections start inside a shared chunk, want several", skipped)
	}
}

// A flipped byte inside a shared chunk fails Verify, naming a file in it, and
// every file of that chunk fails to read; the others still read.
func TestSolidCorruptChunk(t *testing.T) {
	files := smallFiles()
	r, out := openBuilt(t, files, solidOpts...)
	idx := r.Index()
	var victim Chunk
	for _, b := range idx.Blobs {
		if b.Skip > 0 {
			victim = b.Chunks[0]
			break
		}
	}
	orig, _ := os.ReadFile(out)
	bad := bytes.Clone(orig)
	bad[idx.StubSize+victim.Offset+victim.Stored/2] ^= 0x10
	br, err := NewReader(bytes.NewReader(bad), int64(len(bad)), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = br.Verify(context.Background(), nil)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "etc/conf-") {
		t.Fatalf("verify: %v, want a checksum error naming a file", err)
	}
	var broken, fine int
	for _, f := range files {
		fe, _ := br.File(f.path)
		inVictim := false
		for _, c := range br.blobs[fe.Digest].Chunks {
			inVictim = inVictim || c.Offset == victim.Offset
		}
		got, err := br.ReadFile(f.path)
		switch {
		case inVictim && !errors.Is(err, ErrChecksum):
			t.Errorf("%s lies in the flipped chunk but reads: %v", f.path, err)
		case inVictim:
			broken++
		case err != nil || !bytes.Equal(got, f.data):
			t.Errorf("%s: %v", f.path, err)
		default:
			fine++
		}
	}
	if broken < 2 || fine == 0 {
		t.Errorf("%d files broken, %d fine: want several of each", broken, fine)
	}
	if err := br.Extract(context.Background(), t.TempDir(), nil); !errors.Is(err, ErrChecksum) {
		t.Errorf("extract: %v, want a checksum error", err)
	}
}

// The same sources give the same bytes whatever the number of workers, with
// shared chunks too.
func TestSolidDeterministic(t *testing.T) {
	files := append(smallFiles(), mixedFiles()...)
	var first []byte
	for _, n := range []int{1, 2, 7} {
		out := build(t, t.TempDir(), files, append(solidOpts, WithConcurrency(n))...)
		b, _ := os.ReadFile(out)
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("build with %d workers differs", n)
		}
	}
}

// Blobs copied from another payload keep their shared chunks, each copied once.
func TestAddStoredShared(t *testing.T) {
	files := smallFiles()
	base, _ := openBuilt(t, files, solidOpts...)
	out := filepath.Join(t.TempDir(), "child.run")
	w, err := Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteStub(strings.NewReader("stub"))
	var meta Meta
	for _, f := range files {
		fe, _ := base.File(f.path)
		if err := w.AddStored(context.Background(), base, fe.Digest); err != nil {
			t.Fatal(err)
		}
		meta.Files = append(meta.Files, *fe)
	}
	r := commitOpen(t, w, meta, out)
	if r.Index().DataSize != base.Index().DataSize {
		t.Errorf("child data %d bytes, base %d: shared chunks copied more than once", r.Index().DataSize, base.Index().DataSize)
	}
	for _, f := range files {
		got, err := r.ReadFile(f.path)
		if err != nil || !bytes.Equal(got, f.data) {
			t.Fatalf("%s: %v", f.path, err)
		}
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// A source whose digest is given is trusted: a duplicate of a stored one is
// not even opened. A malformed digest is an error naming the source.
func TestSourceDigest(t *testing.T) {
	data := content(3, 5000, true)
	d := digestOf(data)
	var opened atomic.Int32
	src := func(digest string) Source {
		return Source{Name: "layer", Digest: digest, Open: func() (io.ReadCloser, error) {
			opened.Add(1)
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
	}
	w, err := Create(filepath.Join(t.TempDir(), "app.run"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.WriteStub(strings.NewReader("stub"))
	got, err := w.Add(context.Background(), []Source{src(d), src(d)})
	if err != nil || got[0] != d || got[1] != d {
		t.Fatalf("digests %v, err %v", got, err)
	}
	if _, err := w.Add(context.Background(), []Source{src(d)}); err != nil {
		t.Fatal(err)
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("opened %d times, want once", n)
	}
	if _, err := w.Add(context.Background(), []Source{src("sha256:nothex")}); err == nil || !strings.Contains(err.Error(), "layer") {
		t.Errorf("bad digest: err = %v", err)
	}
}

// Reading the small files of one shared chunk one after another decodes it
// once: the reader caches it.
func TestSharedChunkCache(t *testing.T) {
	r, _ := openBuilt(t, smallFiles(), solidOpts...)
	for i := range 5 {
		if _, err := r.ReadFile(fmt.Sprintf("etc/conf-%02d.yaml", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.cache.ents); n == 0 || n > 2 {
		t.Errorf("%d chunks cached after reading five neighbours, want 1 or 2", n)
	}
}

func TestLooksRandom(t *testing.T) {
	bin, _ := os.ReadFile(os.Args[0]) // machine code: compressible
	zeros := make([]byte, 1<<20)
	enc, _ := zstd.NewWriter(nil)
	packed := enc.EncodeAll(content(4, 1<<20, true), nil)
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"random 4 MiB", content(1, 4<<20, false), true},
		{"random 1 KiB", content(2, 1<<10, false), true},
		{"random 300 B (too small to judge)", content(3, 300, false), false},
		{"random 512 B", content(9, 512, false), true},
		{"base64 of random", []byte(base64.StdEncoding.EncodeToString(content(10, 1<<20, false))), false},
		{"zstd frame", packed, true},
		{"text", content(5, 1<<20, true), false},
		{"zeros", zeros, false},
		{"this test binary", bin, false},
		{"text then random", append(content(6, 2<<20, true), content(7, 2<<20, false)...), false},
	} {
		if got := looksRandom(tc.b); got != tc.want {
			t.Errorf("%s: looksRandom = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Small sources of a second Add are deduped against the first, whose last
// shared chunk was completed when it returned.
func TestSolidAcrossAdds(t *testing.T) {
	files := smallFiles()
	out := filepath.Join(t.TempDir(), "app.run")
	w, err := Create(out, solidOpts...)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteStub(strings.NewReader("stub"))
	first, err := w.Add(context.Background(), sources(files[:10]))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range first {
		if !w.Has(d) {
			t.Fatalf("%s not stored when Add returned", d)
		}
	}
	second, err := w.Add(context.Background(), sources(files[5:]))
	if err != nil {
		t.Fatal(err)
	}
	var meta Meta
	for i, f := range files {
		d := ""
		if i < 10 {
			d = first[i]
		} else {
			d = second[i-5]
		}
		meta.Files = append(meta.Files, File{Path: f.path, Type: TypeFile, Mode: f.mode, Size: int64(len(f.data)), Digest: d})
	}
	r := commitOpen(t, w, meta, out)
	if got, want := len(r.Index().Blobs), 43; got != want {
		t.Errorf("blobs = %d, want %d", got, want)
	}
	for _, f := range files {
		if got, err := r.ReadFile(f.path); err != nil || !bytes.Equal(got, f.data) {
			t.Fatalf("%s: %v", f.path, err)
		}
	}
}

// A source that fails while being read, or a cancelled context, ends Add
// with that error, whatever stage the other sources are in.
func TestAddFailsCleanly(t *testing.T) {
	boom := errors.New("disk on fire")
	failing := func(after int) Source {
		return Source{Name: "bad", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(bytes.NewReader(content(1, after, true)), iotestErr{boom})), nil
		}}
	}
	for _, tc := range []struct {
		name string
		bad  Source
	}{
		{"small", failing(100)},
		{"in the second chunk", failing(40 << 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Create(filepath.Join(t.TempDir(), "app.run"), solidOpts...)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			srcs := append(sources(smallFiles()), tc.bad)
			srcs = append(srcs, sources(mixedFiles())...)
			if _, err := w.Add(context.Background(), srcs); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bad") {
				t.Fatalf("err = %v, want the source's error naming it", err)
			}
		})
	}
	w, err := Create(filepath.Join(t.TempDir(), "app.run"), solidOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Add(ctx, sources(append(smallFiles(), mixedFiles()...))); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }
