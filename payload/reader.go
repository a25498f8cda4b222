package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// maxIndexSize bounds the decompressed index so a corrupt length cannot make
// the reader allocate without limit.
const maxIndexSize = 1 << 30

// The decoders are shared: DecodeAll is safe for concurrent use. Chunks get
// their own, bounded by MaxChunkSize, so a crafted frame cannot make a reader
// allocate more than a chunk may hold.
var (
	decoder, _      = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxIndexSize))
	chunkDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxChunkSize))
)

// Reader reads a payload through an io.ReaderAt; only the trailer and the
// index are read when it is opened.
type Reader struct {
	file    io.ReaderAt // the installer file itself
	size    int64
	data    io.ReaderAt // the data area, data offset 0 first
	index   *Index
	digest  string // of the stored index: the installer's identity
	blobs   map[string]*Blob
	files   map[string]*File
	closers []io.Closer
	cache   chunkCache

	ownersOnce sync.Once
	owners     map[int64]string // data offset of a chunk -> a file it holds
}

// PartOpener opens split part suffix (".001") of an installer.
type PartOpener func(suffix string) (io.ReaderAt, int64, io.Closer, error)

// Open opens the installer at path, finding split parts beside it.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	opener := func(suffix string) (io.ReaderAt, int64, io.Closer, error) {
		pf, err := os.Open(path + suffix)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%w: %s: %w", ErrPart, path+suffix, errors.Unwrap(err))
		}
		pst, err := pf.Stat()
		if err != nil {
			pf.Close()
			return nil, 0, nil, err
		}
		return pf, pst.Size(), pf, nil
	}
	r, err := newReader(f, st.Size(), opener)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// NewReader reads a payload from r of the given size. Split parts are opened
// with parts; it may be nil when the payload is not split.
func NewReader(r io.ReaderAt, size int64, parts PartOpener) (*Reader, error) {
	return newReader(r, size, parts)
}

func newReader(ra io.ReaderAt, size int64, parts PartOpener) (*Reader, error) {
	if size < TrailerSize {
		return nil, ErrFormat
	}
	tb := make([]byte, TrailerSize)
	if _, err := ra.ReadAt(tb, size-TrailerSize); err != nil {
		return nil, fmt.Errorf("reading trailer: %w", err)
	}
	t, err := parseTrailer(tb, size)
	if err != nil {
		return nil, err
	}
	stored := make([]byte, t.indexLen)
	if _, err := ra.ReadAt(stored, t.indexOffset); err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	if sha256.Sum256(stored) != t.indexSHA {
		return nil, fmt.Errorf("index: %w", ErrChecksum)
	}
	raw, err := decoder.DecodeAll(stored, nil)
	if err != nil {
		return nil, &FormatError{Offset: t.indexOffset, Msg: "index", Err: err}
	}
	idx := new(Index)
	if err := json.Unmarshal(raw, idx); err != nil {
		return nil, &FormatError{Offset: t.indexOffset, Msg: "index", Err: err}
	}
	if err := idx.validate(); err != nil {
		return nil, err
	}
	if idx.StubSize != t.stubSize {
		return nil, &FormatError{Msg: "index and trailer disagree on the stub size"}
	}
	r := &Reader{file: ra, size: size, index: idx, digest: fmt.Sprintf("sha256:%x", t.indexSHA), blobs: map[string]*Blob{}, files: map[string]*File{}}
	for i := range idx.Blobs {
		r.blobs[idx.Blobs[i].Digest] = &idx.Blobs[i]
	}
	for i := range idx.Files {
		r.files[idx.Files[i].Path] = &idx.Files[i]
	}
	switch {
	case !t.split:
		if t.indexOffset != t.stubSize+idx.DataSize {
			return nil, &FormatError{Offset: t.indexOffset, Msg: "data area size does not match the index position"}
		}
		r.data = io.NewSectionReader(ra, t.stubSize, idx.DataSize)
	case parts == nil:
		return nil, fmt.Errorf("%w: payload is split but no parts were given", ErrPart)
	default:
		if r.data, err = r.openParts(parts); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

func (r *Reader) openParts(open PartOpener) (io.ReaderAt, error) {
	set := r.index.setID()
	m := &multiReaderAt{}
	for i, p := range r.index.Parts {
		ra, size, c, err := open(p.Suffix)
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, c)
		hb := make([]byte, PartHeaderSize)
		if size >= PartHeaderSize {
			_, err = ra.ReadAt(hb, 0)
		}
		ph, ok := parsePartHeader(hb)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %s: %w", ErrPart, p.Suffix, err)
		case !ok || ph.setID != set:
			return nil, fmt.Errorf("%w: %s belongs to another installer", ErrPart, p.Suffix)
		case int(ph.number) != i+1:
			return nil, fmt.Errorf("%w: %s is part %d of %d, expected part %d (parts renamed or swapped?)", ErrPart, p.Suffix, ph.number, ph.count, i+1)
		case size != PartHeaderSize+p.Size:
			return nil, fmt.Errorf("%w: %s has %d bytes, expected %d (truncated or incomplete copy?)", ErrPart, p.Suffix, size, PartHeaderSize+p.Size)
		}
		m.add(io.NewSectionReader(ra, PartHeaderSize, p.Size))
	}
	return m, nil
}

// Close releases the installer file and its parts.
func (r *Reader) Close() error {
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

// Digest is "sha256:<hex>" of the stored index. The index names the hash
// of every chunk and of the program, so the digest tells one installer from
// any other, whatever its file name.
func (r *Reader) Digest() string { return r.digest }

// Index returns the payload's index. Callers must not modify it.
func (r *Reader) Index() *Index { return r.index }

// Size is the size of the installer file (split parts aside).
func (r *Reader) Size() int64 { return r.size }

// PayloadBytes is the size of the payload: data area, index and trailer, in
// the installer and its split parts.
func (r *Reader) PayloadBytes() int64 {
	n := r.size - r.index.StubSize
	for _, p := range r.index.Parts {
		n += PartHeaderSize + p.Size
	}
	return n
}

// Blob returns the stored blob with digest d.
func (r *Reader) Blob(d string) (*Blob, bool) { b, ok := r.blobs[d]; return b, ok }

// File returns the rootfs entry at path p.
func (r *Reader) File(p string) (*File, bool) { f, ok := r.files[p]; return f, ok }

// Stub returns the stub: the bytes before the payload.
func (r *Reader) Stub() *io.SectionReader { return io.NewSectionReader(r.file, 0, r.index.StubSize) }

// Section returns the blob as a section of the installer when it is stored raw
// and in one piece, so it can be served without copying (image layers).
func (r *Reader) Section(d string) (*io.SectionReader, bool) {
	b, ok := r.blobs[d]
	if !ok || !b.Raw() {
		return nil, false
	}
	var off int64
	if len(b.Chunks) > 0 {
		off = b.Chunks[0].Offset + b.Skip
	}
	return io.NewSectionReader(r.data, off, b.Size), true
}

// readChunk reads the stored bytes of c into buf and checks their hash.
func (r *Reader) readChunk(c Chunk, buf []byte) error {
	// An empty blob has nothing to read (ReadAt at the very end would say EOF).
	if len(buf) > 0 {
		if _, err := r.data.ReadAt(buf, c.Offset); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading chunk at %d: %w", c.Offset, err)
		}
	}
	sum := sha256.Sum256(buf)
	if hex.EncodeToString(sum[:]) != c.SHA256 {
		return fmt.Errorf("chunk at data offset %d: %w", c.Offset, ErrChecksum)
	}
	return nil
}

// chunk returns the uncompressed, verified bytes of c.
func (r *Reader) chunk(c Chunk) ([]byte, error) {
	var stored, out []byte
	return r.chunkInto(c, &stored, &out)
}

// chunkInto is chunk with scratch buffers that it grows as needed and the
// caller reuses; the bytes returned alias one of them.
func (r *Reader) chunkInto(c Chunk, stored, out *[]byte) ([]byte, error) {
	if int64(cap(*stored)) < c.Stored {
		*stored = make([]byte, c.Stored)
	}
	buf := (*stored)[:c.Stored]
	if err := r.readChunk(c, buf); err != nil {
		return nil, err
	}
	if !c.Zstd {
		return buf, nil
	}
	if int64(cap(*out)) < c.Size {
		*out = make([]byte, 0, c.Size)
	}
	data, err := chunkDecoder.DecodeAll(buf, (*out)[:0])
	if err != nil {
		return nil, &FormatError{Offset: c.Offset, Msg: fmt.Sprintf("chunk does not decompress to %d bytes", c.Size), Err: err}
	}
	if int64(len(data)) != c.Size {
		return nil, &FormatError{Offset: c.Offset, Msg: fmt.Sprintf("chunk decompresses to %d bytes, not %d", len(data), c.Size)}
	}
	*out = data[:0]
	return data, nil
}

// part returns the bytes of chunk i that belong to blob b, verified. A chunk
// shared with other blobs goes through the cache.
func (r *Reader) part(b *Blob, i int) ([]byte, error) {
	c := b.Chunks[i]
	if b.whole(i) {
		return r.chunk(c)
	}
	key := cacheKey(c)
	data := r.cache.get(key)
	if data == nil {
		var err error
		if data, err = r.chunk(c); err != nil {
			return nil, err
		}
		r.cache.add(key, data)
	}
	lo, hi := b.span(i)
	return data[lo:hi], nil
}

// Open returns the content of blob d as a stream. Reading it to EOF verifies
// the blob's digest; a mismatch is returned instead of io.EOF.
func (r *Reader) Open(d string) (io.ReadCloser, error) {
	b, ok := r.blobs[d]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	return &blobStream{r: r, b: b, h: sha256.New()}, nil
}

// ReadFile returns the content of the rootfs file at p.
func (r *Reader) ReadFile(p string) ([]byte, error) {
	f, ok := r.files[p]
	if !ok || f.Type != TypeFile {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	rc, err := r.Open(f.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

type blobStream struct {
	r   *Reader
	b   *Blob
	i   int
	cur *bytes.Reader
	h   interface {
		io.Writer
		Sum([]byte) []byte
	}
	err error
}

func (s *blobStream) Read(p []byte) (int, error) {
	for s.err == nil && (s.cur == nil || s.cur.Len() == 0) {
		if s.i == len(s.b.Chunks) {
			if "sha256:"+hex.EncodeToString(s.h.Sum(nil)) != s.b.Digest {
				s.err = fmt.Errorf("blob %s: %w", s.b.Digest, ErrChecksum)
			} else {
				s.err = io.EOF
			}
			break
		}
		data, err := s.r.part(s.b, s.i)
		if err != nil {
			s.err = fmt.Errorf("blob %s: %w", s.b.Digest, err)
			break
		}
		s.i++
		s.h.Write(data)
		s.cur = bytes.NewReader(data)
	}
	if s.cur != nil && s.cur.Len() > 0 {
		return s.cur.Read(p)
	}
	return 0, s.err
}

func (s *blobStream) Close() error { return nil }

// BlobReaderAt reads a blob at any offset, decompressing only the chunks it
// touches. It keeps the last chunk it decoded.
type BlobReaderAt struct {
	r    *Reader
	b    *Blob
	mu   sync.Mutex
	last int
	buf  []byte
}

// ReaderAt returns random access to blob d.
func (r *Reader) ReaderAt(d string) (*BlobReaderAt, error) {
	b, ok := r.blobs[d]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	return &BlobReaderAt{r: r, b: b, last: -1}, nil
}

// Size is the uncompressed size of the blob.
func (a *BlobReaderAt) Size() int64 { return a.b.Size }

func (a *BlobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("payload: negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= a.b.Size {
			return n, io.EOF
		}
		i := a.find(off)
		data, err := a.load(i)
		if err != nil {
			return n, err
		}
		// data starts at this blob offset: the chunk's place, less the skip
		// (only the first chunk begins inside the content).
		start := max(0, a.b.Chunks[i].Logical-a.b.Skip)
		c := copy(p[n:], data[off-start:])
		n += c
		off += int64(c)
	}
	return n, nil
}

// find returns the chunk that holds blob offset off.
func (a *BlobReaderAt) find(off int64) int {
	off += a.b.Skip
	lo, hi := 0, len(a.b.Chunks)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if a.b.Chunks[mid].Logical <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func (a *BlobReaderAt) load(i int) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == i {
		return a.buf, nil
	}
	data, err := a.r.part(a.b, i)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", a.b.Digest, err)
	}
	a.last, a.buf = i, data
	return data, nil
}

// multiReaderAt joins split parts into one data area.
type multiReaderAt struct {
	parts []*io.SectionReader
	ends  []int64
}

func (m *multiReaderAt) add(s *io.SectionReader) {
	var end int64
	if len(m.ends) > 0 {
		end = m.ends[len(m.ends)-1]
	}
	m.parts = append(m.parts, s)
	m.ends = append(m.ends, end+s.Size())
}

func (m *multiReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for i, end := range m.ends {
		if len(p) == 0 {
			break
		}
		if off >= end {
			continue
		}
		start := end - m.parts[i].Size()
		k, err := m.parts[i].ReadAt(p[:min(int64(len(p)), end-off)], off-start)
		n += k
		p, off = p[k:], off+int64(k)
		if err != nil && err != io.EOF {
			return n, err
		}
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}
