package payload

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// content makes n bytes: compressible text when text is set, else random.
func content(seed uint64, n int, text bool) []byte {
	r := mrand.New(mrand.NewPCG(seed, seed))
	b := make([]byte, n)
	if !text {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	words := []string{"kube", "let ", "node ", "pod\n", "image: ", "nginx ", "registry ", "apiVersion: v1\n"}
	for i := 0; i < n; {
		i += copy(b[i:], words[r.IntN(len(words))])
	}
	return b
}

type testFile struct {
	path string
	data []byte
	mode fs.FileMode
}

func sources(files []testFile) []Source {
	var s []Source
	for _, f := range files {
		s = append(s, Source{Name: f.path, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }})
	}
	return s
}

// readBack reads f through r and fails the test unless it is f's content.
func readBack(t *testing.T, r *Reader, f testFile) {
	t.Helper()
	got, err := r.ReadFile(f.path)
	if err != nil {
		t.Fatalf("%s: %v", f.path, err)
	}
	if !bytes.Equal(got, f.data) {
		t.Fatalf("%s: content differs", f.path)
	}
}

// build writes an installer from files and returns its path.
func build(t testing.TB, dir string, files []testFile, opts ...Option) string {
	t.Helper()
	out := filepath.Join(dir, "app.run")
	w, err := Create(out, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStub(strings.NewReader("#!/bin/sh\necho stub\n")); err != nil {
		t.Fatal(err)
	}
	digests, err := w.Add(context.Background(), sources(files))
	if err != nil {
		t.Fatal(err)
	}
	meta := Meta{Platform: "linux/amd64", Labels: map[string]string{"org.opencontainers.image.title": "demo"}, Cmds: []string{"kubectl apply -f manifests"}}
	meta.Files = append(meta.Files, File{Path: "bin", Type: TypeDir, Mode: 0o755})
	for i, f := range files {
		meta.Files = append(meta.Files, File{Path: f.path, Type: TypeFile, Mode: f.mode, Size: int64(len(f.data)), Digest: digests[i]})
	}
	meta.Files = append(meta.Files, File{Path: "bin/link", Type: TypeSymlink, Mode: 0o777, Target: "tool"})
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	return out
}

func mixedFiles() []testFile {
	return []testFile{
		{"bin/tool", content(1, 9<<20+17, true), 0o755},
		{"bin/random", content(2, 5<<20+3, false), 0o755},
		{"etc/a.yaml", content(3, 1000, true), 0o644},
		{"etc/copy.yaml", content(3, 1000, true), 0o600}, // same content: stored once
		{"etc/empty", nil, 0o644},
		{"images/big-dup", content(1, 9<<20+17, true), 0o644}, // multi-chunk duplicate: rewound
	}
}

func TestRoundTrip(t *testing.T) {
	for _, split := range []int64{0, 3 << 20} {
		t.Run("split="+big.NewInt(split).String(), func(t *testing.T) {
			dir := t.TempDir()
			files := mixedFiles()
			var opts []Option
			if split > 0 {
				opts = append(opts, WithSplit(split))
			}
			out := build(t, dir, files, append(opts, WithChunkSize(1<<20))...)
			r := mustOpen(t, out)
			idx := r.Index()
			if idx.Platform != "linux/amd64" || idx.Labels["org.opencontainers.image.title"] != "demo" || len(idx.Cmds) != 1 {
				t.Fatalf("metadata lost: %+v", idx)
			}
			if got, want := len(idx.Blobs), 4; got != want {
				t.Errorf("blobs = %d, want %d (duplicates stored once)", got, want)
			}
			if split > 0 && len(idx.Parts) < 2 {
				t.Errorf("parts = %d, want several", len(idx.Parts))
			}
			for _, f := range files {
				readBack(t, r, f)
				// Random access at a chunk boundary and at the end.
				fe, _ := r.File(f.path)
				ra, _ := r.ReaderAt(fe.Digest)
				if len(f.data) > 1<<20+10 {
					p := make([]byte, 20)
					if _, err := ra.ReadAt(p, 1<<20-10); err != nil || !bytes.Equal(p, f.data[1<<20-10:1<<20+10]) {
						t.Fatalf("%s: ReadAt across chunks: %v", f.path, err)
					}
				}
			}
			if err := r.Verify(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			// The random file does not compress: it is one raw section.
			fe, _ := r.File("bin/random")
			sec, ok := r.Section(fe.Digest)
			if !ok {
				t.Fatal("random content was not stored raw")
			}
			got, _ := io.ReadAll(sec)
			if !bytes.Equal(got, files[1].data) {
				t.Fatal("section differs")
			}
			ext := filepath.Join(dir, "x")
			if err := r.Extract(context.Background(), ext, nil); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				st, err := os.Stat(filepath.Join(ext, f.path))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != f.mode {
					t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
				}
				got, _ := os.ReadFile(filepath.Join(ext, f.path))
				if !bytes.Equal(got, f.data) {
					t.Errorf("%s: extracted content differs", f.path)
				}
			}
			if target, err := os.Readlink(filepath.Join(ext, "bin/link")); err != nil || target != "tool" {
				t.Errorf("symlink: %q %v", target, err)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a := build(t, t.TempDir(), mixedFiles())
	b := build(t, t.TempDir(), mixedFiles(), WithConcurrency(1))
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two builds of the same input differ")
	}
}

func TestCorruption(t *testing.T) {
	dir := t.TempDir()
	out := build(t, dir, mixedFiles())
	orig, _ := os.ReadFile(out)
	// Flip bytes at spread positions: stub, data, index, trailer. Each must
	// make Open or Verify fail; none may panic.
	positions := []int{0, 5, len(orig) - 1, len(orig) - TrailerSize, len(orig) - TrailerSize - 1, len(orig) - 40}
	for i := 0; i < 40; i++ {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(orig))))
		positions = append(positions, int(n.Int64()))
	}
	for _, pos := range positions {
		bad := bytes.Clone(orig)
		bad[pos] ^= 0x40
		r, err := NewReader(bytes.NewReader(bad), int64(len(bad)), nil)
		if err == nil {
			err = r.Verify(context.Background(), nil)
		}
		if err == nil {
			t.Errorf("flipped byte at %d of %d went unnoticed", pos, len(orig))
		}
	}
}

func TestTruncated(t *testing.T) {
	out := build(t, t.TempDir(), mixedFiles())
	orig, _ := os.ReadFile(out)
	for _, n := range []int{0, 1, 10, TrailerSize, len(orig) / 2, len(orig) - 1} {
		_, err := NewReader(bytes.NewReader(orig[:n]), int64(n), nil)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("truncated to %d: err = %v, want ErrFormat", n, err)
		}
	}
}

func TestSplitParts(t *testing.T) {
	dir := t.TempDir()
	out := build(t, dir, mixedFiles(), WithSplit(2<<20))
	if _, err := os.Stat(out + ".003"); err != nil {
		t.Fatal("expected at least three parts:", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func()
		want   string
		cause  error // also in the chain, if set
	}{
		{"missing", func() { os.Remove(out + ".002") }, ".002", fs.ErrNotExist},
		{"swapped", func() {
			os.Rename(out+".001", out+".tmp")
			os.Rename(out+".002", out+".001")
			os.Rename(out+".tmp", out+".002")
		}, "expected part 1", nil},
		{"truncated", func() {
			os.Truncate(out+".001", 100)
		}, "truncated", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			for _, s := range []string{"", ".001", ".002", ".003", ".004", ".005"} {
				b, err := os.ReadFile(out + s)
				if err == nil {
					os.WriteFile(filepath.Join(d, "app.run"+s), b, 0o644)
				}
			}
			saved := out
			out = filepath.Join(d, "app.run")
			tc.break_()
			out = saved
			_, err := Open(filepath.Join(d, "app.run"))
			if !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrPart naming %q", err, tc.want)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want %q in its chain too", err, tc.cause)
			}
		})
	}
}

func TestNotAPayload(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0xff}, 500)} {
		if _, err := NewReader(bytes.NewReader(data), int64(len(data)), nil); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want ErrFormat", data[:min(len(data), 8)], err)
		}
	}
}

func TestCommitNothingOnAbort(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "app.run"), WithSplit(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	w.WriteStub(strings.NewReader("stub"))
	_, err = w.Add(context.Background(), []Source{{Name: "boom", Open: func() (io.ReadCloser, error) { return nil, errors.New("boom") }}})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestExtractRefusesEscape(t *testing.T) {
	for _, p := range []string{"../x", "/etc/passwd", "a/../../x", "a\\b"} {
		if err := ValidPath(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	// A symlink pointing out of the tree must not be written through.
	dir := t.TempDir()
	out := filepath.Join(dir, "app.run")
	w, _ := Create(out)
	w.WriteStub(strings.NewReader("stub"))
	d, _ := w.Add(context.Background(), sources([]testFile{{"x", []byte("owned"), 0o644}}))
	outside := t.TempDir()
	w.Commit(Meta{Files: []File{
		{Path: "evil", Type: TypeSymlink, Target: outside},
		{Path: "evil/f", Type: TypeFile, Mode: 0o644, Digest: d[0]},
	}})
	r := mustOpen(t, out)
	r.Extract(context.Background(), filepath.Join(dir, "x"), nil)
	if _, err := os.Stat(filepath.Join(outside, "f")); err == nil {
		t.Fatal("extract wrote through a symlink outside its directory")
	}
}

// TestExtractOverExisting extracts into a directory that holds an earlier
// extraction, with a file replaced by a symlink to outside and a directory
// in place of a file: every file is written in place, nothing through the
// link, and modes the umask would mask are set.
func TestExtractOverExisting(t *testing.T) {
	dir := t.TempDir()
	files := []testFile{
		{"bin/tool", content(1, 3000, true), 0o777},
		{"etc/a.yaml", content(3, 1000, true), 0o664},
		{"etc/b.yaml", content(4, 100, true), 0o600},
	}
	r := mustOpen(t, build(t, dir, files))
	ext := filepath.Join(dir, "x")
	if err := r.Extract(context.Background(), ext, nil); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(outside, []byte("keep"), 0o644)
	os.Remove(filepath.Join(ext, "etc/a.yaml"))
	os.Symlink(outside, filepath.Join(ext, "etc/a.yaml"))
	os.Remove(filepath.Join(ext, "etc/b.yaml"))
	os.Mkdir(filepath.Join(ext, "etc/b.yaml"), 0o755)
	if err := r.Extract(context.Background(), ext, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Fatal("extract wrote through a symlink")
	}
	for _, f := range files {
		st, err := os.Lstat(filepath.Join(ext, f.path))
		if err != nil {
			t.Fatal(err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want a file with %v", f.path, st.Mode(), f.mode)
		}
		if got, _ := os.ReadFile(filepath.Join(ext, f.path)); !bytes.Equal(got, f.data) {
			t.Errorf("%s: content differs", f.path)
		}
	}
}
