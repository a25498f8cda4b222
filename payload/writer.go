package payload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// DefaultChunkSize is the uncompressed size of a chunk: large enough for a good
// ratio, small enough that chunks of one big file compress and decompress in
// parallel and a random read decodes little.
const DefaultChunkSize = 4 << 20

// MaxChunkSize bounds chunks, so that a reader never allocates more than this
// for one, whatever an index claims.
const MaxChunkSize = 64 << 20

// Compression says how the Writer may store a source.
type Compression int

const (
	// Auto compresses each chunk and keeps the raw bytes when that does not pay.
	Auto Compression = iota
	// Never stores the bytes as they are (image layers are already compressed).
	Never
)

// Source is one piece of content to store.
type Source struct {
	Name     string // for error messages
	Open     func() (io.ReadCloser, error)
	Compress Compression
}

// Option configures a Writer.
type Option func(*Writer)

// WithSplit stores the data area in parts of at most size bytes each (the part
// header included), beside the main file, which then holds only stub and index.
func WithSplit(size int64) Option { return func(w *Writer) { w.splitSize = size } }

// WithConcurrency sets the number of compressing goroutines.
func WithConcurrency(n int) Option { return func(w *Writer) { w.workers = max(1, n) } }

// WithLevel sets the zstd level.
func WithLevel(l zstd.EncoderLevel) Option { return func(w *Writer) { w.level = l } }

// WithChunkSize sets the chunk size (tests use small ones).
func WithChunkSize(n int) Option { return func(w *Writer) { w.chunkSize = min(max(1, n), MaxChunkSize) } }

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
	enc       *zstd.Encoder
	blobs     map[string]*Blob
	order     []string
	off       int64 // next data offset
	done      bool
}

// Create starts an installer at path. It writes to a temporary file beside
// path; nothing appears at path (or its parts) until Commit.
func Create(path string, opts ...Option) (*Writer, error) {
	w := &Writer{
		path:      path,
		workers:   runtime.GOMAXPROCS(0),
		level:     zstd.SpeedDefault,
		chunkSize: DefaultChunkSize,
		blobs:     map[string]*Blob{},
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
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(w.level), zstd.WithEncoderConcurrency(w.workers),
		zstd.WithEncoderCRC(true), zstd.WithZeroFrames(true))
	if err != nil {
		w.Abort()
		return nil, err
	}
	w.enc = enc
	return w, nil
}

// WriteStub copies the installer stub; it must come before any Add.
func (w *Writer) WriteStub(r io.Reader) error {
	if w.off != 0 || w.stubSize != 0 {
		return errors.New("payload: stub written twice or after data")
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

// Has reports whether a blob with this digest is already stored.
func (w *Writer) Has(digest string) bool { _, ok := w.blobs[digest]; return ok }

// Add stores every source once per distinct content and returns their digests
// in order. Chunks are compressed in parallel; the output is deterministic.
func (w *Writer) Add(ctx context.Context, srcs []Source) ([]string, error) {
	if w.done {
		return nil, errors.New("payload: Add after Commit or Abort")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &pipeline{w: w, ctx: ctx, digests: make([]string, len(srcs))}
	return p.digests, p.run(srcs)
}

// AddStored copies a blob from another payload as it is stored there (FROM of
// another installer), without recompressing it.
func (w *Writer) AddStored(ctx context.Context, r *Reader, digest string) error {
	if w.Has(digest) {
		return nil
	}
	src, ok := r.blobs[digest]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	nb := &Blob{Digest: src.Digest, Size: src.Size}
	for _, c := range src.Chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf := make([]byte, c.Stored)
		if err := r.readChunk(c, buf); err != nil {
			return fmt.Errorf("blob %s: %w", digest, err)
		}
		if err := w.sink.writeAt(buf, w.off); err != nil {
			return err
		}
		nc := c
		nc.Offset = w.off
		w.off += c.Stored
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
	files := append([]File(nil), meta.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	idx := &Index{
		Version: Version, Platform: meta.Platform, Labels: meta.Labels, Env: meta.Env, Cmds: meta.Cmds,
		Files: files, Images: meta.Images, StubSize: w.stubSize, StubSHA256: w.stubSHA, DataSize: w.off,
	}
	// The set id ties split parts to this index: a hash of every chunk's hash.
	set := sha256.New()
	for _, d := range w.order {
		b := w.blobs[d]
		idx.Blobs = append(idx.Blobs, *b)
		for _, c := range b.Chunks {
			io.WriteString(set, c.SHA256)
		}
	}
	var setID [32]byte
	copy(setID[:], set.Sum(nil))
	parts, err := w.sink.finish(w.off, setID)
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
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	stored := enc.EncodeAll(raw, nil)
	enc.Close()
	t := trailer{version: Version, split: len(parts) > 0, stubSize: w.stubSize, indexLen: int64(len(stored)),
		indexSHA: sha256.Sum256(stored)}
	t.indexOffset = w.stubSize
	if !t.split {
		t.indexOffset += w.off
	}
	tail := append(stored, t.marshal()...)
	if _, err := w.f.WriteAt(tail, t.indexOffset); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	if err := w.f.Truncate(t.indexOffset + int64(len(tail))); err != nil {
		return err
	}
	if err := w.f.Chmod(0o755); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	if err := w.sink.closeParts(); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	for i := range parts {
		if err := os.Rename(w.sink.partPath(i), w.path+partSuffix(i)); err != nil {
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
	return os.Rename(w.f.Name(), w.path)
}

// Abort removes everything written so far.
func (w *Writer) Abort() {
	w.done = true
	if w.enc != nil {
		w.enc.Close()
	}
	w.f.Close()
	os.Remove(w.f.Name())
	w.sink.removeParts()
}

// pipeline runs one Add: a producer reads and hashes sources into chunks,
// workers compress and hash chunks, and the collector writes them in order.
type pipeline struct {
	w       *Writer
	ctx     context.Context
	digests []string
}

type job struct {
	src    int
	data   []byte // uncompressed, from the pool
	first  bool
	last   bool
	digest string       // set on the last chunk of a source
	skip   *atomic.Bool // the source did not compress: skip trying
	compr  Compression
	out    []byte // what to store
	zstd   bool
	sha    string
	done   chan struct{}
}

func (p *pipeline) run(srcs []Source) error {
	w := p.w
	work := make(chan *job, w.workers*2)
	order := make(chan *job, w.workers*4)
	bufs := sync.Pool{New: func() any { return make([]byte, w.chunkSize) }}
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()

	go func() {
		defer close(work)
		defer close(order)
		if err := p.produce(ctx, srcs, work, order, &bufs); err != nil {
			errc <- err
			cancel()
		}
	}()
	var wg sync.WaitGroup
	for range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				p.compress(j)
				close(j.done)
			}
		}()
	}
	err := p.collect(ctx, order, &bufs)
	if err != nil {
		cancel()
	}
	for range order { // drain so the producer can finish
	}
	wg.Wait()
	select {
	case perr := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			err = perr
		}
	default:
	}
	if err == nil {
		err = p.ctx.Err()
	}
	return err
}

func (p *pipeline) produce(ctx context.Context, srcs []Source, work, order chan<- *job, bufs *sync.Pool) error {
	seen := map[string]bool{}
	send := func(j *job) error {
		j.done = make(chan struct{})
		select {
		case order <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	for i, s := range srcs {
		rc, err := s.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		h := sha256.New()
		skip := new(atomic.Bool)
		var pending *job // held back one chunk so the last one carries the digest
		first := true
		for {
			buf := bufs.Get().([]byte)[:p.w.chunkSize]
			n, rerr := io.ReadFull(rc, buf)
			if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
				rc.Close()
				return fmt.Errorf("reading %s: %w", s.Name, rerr)
			}
			h.Write(buf[:n])
			eof := rerr != nil
			if n > 0 || pending == nil {
				if pending != nil {
					if err := send(pending); err != nil {
						rc.Close()
						return err
					}
				}
				pending = &job{src: i, data: buf[:n], first: first, skip: skip, compr: s.Compress}
				first = false
			} else {
				bufs.Put(buf)
			}
			if eof {
				break
			}
		}
		rc.Close()
		d := "sha256:" + hex.EncodeToString(h.Sum(nil))
		pending.last, pending.digest = true, d
		p.digests[i] = d
		if pending.first && (seen[d] || p.w.Has(d)) {
			// A single-chunk duplicate is known before any of it is stored.
			bufs.Put(pending.data[:cap(pending.data)])
			continue
		}
		seen[d] = true
		if err := send(pending); err != nil {
			return err
		}
	}
	return nil
}

func (p *pipeline) compress(j *job) {
	j.out = j.data
	if j.compr == Auto && len(j.data) > 0 && !(j.skip.Load() && !j.first) {
		z := p.w.enc.EncodeAll(j.data, make([]byte, 0, len(j.data)/2))
		// Keep the frame only when it saves at least 1/32 of the bytes.
		if len(z) < len(j.data)-len(j.data)/32 {
			j.out, j.zstd = z, true
		} else if j.first {
			j.skip.Store(true)
		}
	}
	sum := sha256.Sum256(j.out)
	j.sha = hex.EncodeToString(sum[:])
}

func (p *pipeline) collect(ctx context.Context, order <-chan *job, bufs *sync.Pool) error {
	w := p.w
	var cur *Blob
	var start int64
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if cur == nil {
			cur, start = &Blob{}, w.off
		}
		if err := w.sink.writeAt(j.out, w.off); err != nil {
			return fmt.Errorf("writing payload: %w", err)
		}
		cur.Chunks = append(cur.Chunks, Chunk{Offset: w.off, Stored: int64(len(j.out)), Size: int64(len(j.data)), Zstd: j.zstd, SHA256: j.sha})
		cur.Size += int64(len(j.data))
		w.off += int64(len(j.out))
		bufs.Put(j.data[:cap(j.data)])
		if !j.last {
			continue
		}
		cur.Digest = j.digest
		if w.Has(j.digest) {
			// A multi-chunk duplicate: rewind over what was just written.
			w.off = start
		} else {
			w.blobs[j.digest] = cur
			w.order = append(w.order, j.digest)
		}
		cur = nil
	}
	return nil
}

// IsCompressed guesses from a name whether content is already compressed, so
// builders can skip trying (Never).
func IsCompressed(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz", ".tgz", ".zst", ".xz", ".bz2", ".zip", ".jar", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".7z", ".lz4", ".br", ".mp4", ".woff2":
		return true
	}
	return false
}
