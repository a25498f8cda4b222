package payload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/klauspost/compress/zstd"
)

// Writer writes a payload after a stub. Use Create, then WriteStub, Add (any
// number of times), and Commit or Abort.
type Writer struct {
	path      string // final path
	f         *os.File
	sink      *sink
	stubSize  int64
	stubSHA   string
	splitSize int64
	workers   int
	level     zstd.EncoderLevel
	chunkSize int
	solidSize int
	enc       *zstd.Encoder
	blobs     map[string]*Blob
	order     []string
	copied    map[copiedChunk]Chunk // AddStored: chunks of other payloads already copied
	off       int64                 // next data offset
	stub      *stubCopy             // StartStub's copy, until Commit
	payload   int64                 // after Commit: bytes after the stub, parts included
	parts     []Part                // after Commit
	done      bool
	signer    Signer // WithSigner
}

// stubCopy is a stub being written in the background.
type stubCopy struct {
	done chan struct{}
	sha  string
	err  error
}

// copiedChunk names a chunk of another payload, so that a chunk shared by
// several copied blobs is copied once.
type copiedChunk struct {
	r   *Reader
	off int64
}

// Create starts an installer at path. It writes to a temporary file beside
// path; nothing appears at path (or its parts) until Commit.
func Create(path string, opts ...Option) (*Writer, error) {
	w := &Writer{
		path:      path,
		workers:   runtime.GOMAXPROCS(0),
		level:     zstd.SpeedDefault,
		chunkSize: DefaultChunkSize,
		solidSize: DefaultSolidSize,
		blobs:     map[string]*Blob{},
		copied:    map[copiedChunk]Chunk{},
	}
	for _, o := range opts {
		o(w)
	}
	if w.splitSize != 0 && w.splitSize <= PartHeaderSize+TrailerSize {
		return nil, fmt.Errorf("split size %d is too small", w.splitSize)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	w.f = f
	w.sink = &sink{main: f}
	if w.splitSize > 0 {
		w.sink.partData = w.splitSize - PartHeaderSize
	}
	// No frame checksum: the chunk's sha256 is checked before it is decoded.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(w.level), zstd.WithEncoderConcurrency(w.workers),
		zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true))
	if err != nil {
		w.Abort()
		return nil, err
	}
	w.enc = enc
	return w, nil
}

// WriteStub copies the installer stub; it must come before any Add.
func (w *Writer) WriteStub(r io.Reader) error {
	if err := w.stubAllowed(); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.f, h), r)
	if err != nil {
		return fmt.Errorf("writing stub: %w", err)
	}
	w.stubSize, w.stubSHA = n, hex.EncodeToString(h.Sum(nil))
	w.sink.base = n
	return nil
}

// StartStub writes the stub, size bytes read from r, in the background, so
// that copying it overlaps Add (it is tens of megabytes); Commit waits for it.
// r is read to its end and closed. Use it or WriteStub, before any Add.
func (w *Writer) StartStub(r io.ReadCloser, size int64) error {
	if err := w.stubAllowed(); err != nil {
		r.Close()
		return err
	}
	w.stubSize, w.sink.base = size, size
	c := &stubCopy{done: make(chan struct{})}
	w.stub = c
	go func() {
		defer close(c.done)
		defer r.Close()
		h := sha256.New()
		n, err := io.CopyBuffer(io.NewOffsetWriter(w.f, 0), io.TeeReader(r, h), make([]byte, 1<<20))
		switch {
		case err != nil:
			c.err = fmt.Errorf("writing stub: %w", err)
		case n != size:
			c.err = fmt.Errorf("writing stub: read %d bytes, expected %d", n, size)
		default:
			c.sha = hex.EncodeToString(h.Sum(nil))
		}
	}()
	return nil
}

// stubAllowed says whether a stub may still be written: once, before data.
func (w *Writer) stubAllowed() error {
	if w.off != 0 || w.stubSize != 0 || w.stub != nil {
		return errors.New("payload: stub written twice or after data")
	}
	return nil
}

// waitStub waits for StartStub's copy.
func (w *Writer) waitStub() error {
	if w.stub == nil {
		return nil
	}
	<-w.stub.done
	c := w.stub
	w.stub = nil
	w.stubSHA = c.sha
	return c.err
}

// PayloadBytes is, after Commit, the size of everything after the stub:
// data, index and trailer, split parts included.
func (w *Writer) PayloadBytes() int64 { return w.payload }

// Parts describes, after Commit, the split parts written (none unless
// WithSplit).
func (w *Writer) Parts() []Part { return w.parts }

// Has reports whether a blob with this digest is already stored.
func (w *Writer) Has(digest string) bool { _, ok := w.blobs[digest]; return ok }

// Add stores every source once per distinct content and returns their digests
// in order. Small sources that may be compressed share chunks, in the order
// given (so similar files sit together, as in a tar stream); larger ones get
// chunks of their own. Chunks are compressed in parallel; the output is
// deterministic.
func (w *Writer) Add(ctx context.Context, srcs []Source) ([]string, error) {
	if w.done {
		return nil, errors.New("payload: Add after Commit or Abort")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := newPipeline(ctx, w, len(srcs))
	return p.digests, p.run(srcs)
}

// AddStored copies a blob from another payload as it is stored there (FROM of
// another installer), without recompressing it. A chunk it shares with other
// blobs is copied whole, once, however many of them are copied.
func (w *Writer) AddStored(ctx context.Context, r *Reader, digest string) error {
	if w.done {
		return errors.New("payload: AddStored after Commit or Abort")
	}
	if w.Has(digest) {
		return nil
	}
	src, ok := r.blobs[digest]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	nb := &Blob{Digest: src.Digest, Size: src.Size, Skip: src.Skip}
	for _, c := range src.Chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := copiedChunk{r: r, off: c.Offset}
		nc, ok := w.copied[key]
		if !ok || nc.SHA256 != c.SHA256 {
			buf := make([]byte, c.Stored)
			if err := r.readChunk(c, buf); err != nil {
				return fmt.Errorf("blob %s: %w", digest, err)
			}
			if err := w.sink.writeAt(buf, w.off); err != nil {
				return err
			}
			nc = c
			nc.Offset, nc.Logical = w.off, 0
			w.off += c.Stored
			w.copied[key] = nc
		}
		nb.Chunks = append(nb.Chunks, nc)
	}
	w.blobs[digest] = nb
	w.order = append(w.order, digest)
	return nil
}

// Commit writes the index and trailer and moves the installer (and its parts)
// into place. meta.Files must refer only to digests returned by Add.
func (w *Writer) Commit(meta Meta) error {
	if w.done {
		return errors.New("payload: Commit after Commit or Abort")
	}
	if err := w.commit(meta); err != nil {
		w.Abort()
		return err
	}
	return nil
}

func (w *Writer) commit(meta Meta) error {
	w.done = true
	w.enc.Close()
	if err := w.waitStub(); err != nil {
		return err
	}
	files := append([]File(nil), meta.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	idx := &Index{
		Version: Version, Platform: meta.Platform, Labels: meta.Labels, Env: meta.Env, Cmds: meta.Cmds,
		Apps: meta.Apps, Launch: meta.Launch,
		Files: files, Images: meta.Images, SBOM: meta.SBOM, StubSize: w.stubSize, StubSHA256: w.stubSHA, DataSize: w.off,
	}
	for _, d := range w.order {
		idx.Blobs = append(idx.Blobs, *w.blobs[d])
	}
	parts, err := w.sink.finish(w.off, idx.setID())
	if err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	idx.Parts = parts
	if err := idx.validate(); err != nil {
		return fmt.Errorf("payload: invalid index: %w", err)
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	// The default level: a better one saves 4% of a few hundred kilobytes
	// and costs tens of milliseconds on every build.
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	stored := enc.EncodeAll(raw, nil)
	enc.Close()
	t := trailer{version: Version, split: len(parts) > 0, stubSize: w.stubSize, indexLen: int64(len(stored)),
		indexSHA: sha256.Sum256(stored)}
	t.indexOffset = w.stubSize
	if !t.split {
		t.indexOffset += w.off
	}
	block, err := w.signatureBlock(t.indexSHA, idx)
	if err != nil {
		return err
	}
	t.signed = block != nil
	tail := append(append(stored, block...), t.marshal()...)
	if _, err := w.f.WriteAt(tail, t.indexOffset); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	if err := w.f.Truncate(t.indexOffset + int64(len(tail))); err != nil {
		return err
	}
	if err := w.f.Chmod(0o755); err != nil {
		return err
	}
	// Not synced: an installer is a build output, as a compiled binary is,
	// and the rename still keeps a reader from seeing half of one. A crash
	// of the machine can leave a damaged file, which `verify` names (every
	// chunk and the stub carry a sha256), and a rebuild gives the same bytes.
	if err := w.f.Close(); err != nil {
		return err
	}
	if err := w.sink.closeParts(); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	w.payload = t.indexOffset + int64(len(tail)) - w.stubSize
	for _, p := range parts {
		w.payload += PartHeaderSize + p.Size
	}
	w.parts = parts
	for i := range parts {
		if err := replace(w.sink.partPath(i), w.path+partSuffix(i)); err != nil {
			return err
		}
	}
	// A stale part from an earlier, larger split build would be picked up by
	// nothing (the index names its parts), but it confuses people: remove it.
	for i := len(parts); ; i++ {
		if os.Remove(w.path+partSuffix(i)) != nil {
			break
		}
	}
	return replace(w.f.Name(), w.path)
}

// replace renames from to to. It removes to first: ext4 treats a rename
// over an existing file as a replace and flushes the new file's data at
// once (auto_da_alloc), which costs 60-130 ms for a 150 MB installer,
// against 6 ms this way. The old installer is gone only once the new one
// is complete, a moment before it takes its name.
func replace(from, to string) error {
	if err := os.Remove(to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(from, to)
}

// Abort removes everything written so far.
func (w *Writer) Abort() {
	w.done = true
	w.waitStub()
	if w.enc != nil {
		w.enc.Close()
	}
	w.f.Close()
	os.Remove(w.f.Name())
	w.sink.removeParts()
}
