package payload

import (
	"crypto/sha256"
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
	signed  bool   // the trailer says so (signature.go)
	sig     []byte // the signature block's content
	sigErr  error  // why the block cannot be read

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
	t, idx, err := readIndex(ra, size)
	if err != nil {
		return nil, err
	}
	r := &Reader{file: ra, size: size, index: idx, digest: fmt.Sprintf("sha256:%x", t.indexSHA), blobs: map[string]*Blob{}, files: map[string]*File{}}
	if r.signed = t.signed; t.signed {
		r.sig, r.sigErr = readSignature(ra, size, t)
	}
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

// readIndex reads the trailer at the end of ra and the index it points at,
// checked against its hash and for consistency.
func readIndex(ra io.ReaderAt, size int64) (*trailer, *Index, error) {
	if size < TrailerSize {
		return nil, nil, ErrFormat
	}
	tb := make([]byte, TrailerSize)
	if _, err := ra.ReadAt(tb, size-TrailerSize); err != nil {
		return nil, nil, fmt.Errorf("reading trailer: %w", err)
	}
	t, err := parseTrailer(tb, size)
	if err != nil {
		return nil, nil, err
	}
	stored := make([]byte, t.indexLen)
	if _, err := ra.ReadAt(stored, t.indexOffset); err != nil {
		return nil, nil, fmt.Errorf("reading index: %w", err)
	}
	if sha256.Sum256(stored) != t.indexSHA {
		return nil, nil, fmt.Errorf("index: %w", ErrChecksum)
	}
	raw, err := decoder.DecodeAll(stored, nil)
	if err != nil {
		return nil, nil, &FormatError{Offset: t.indexOffset, Msg: "index", Err: err}
	}
	idx := new(Index)
	if err := json.Unmarshal(raw, idx); err != nil {
		return nil, nil, &FormatError{Offset: t.indexOffset, Msg: "index", Err: err}
	}
	if err := idx.validate(); err != nil {
		return nil, nil, err
	}
	if idx.StubSize != t.stubSize {
		return nil, nil, &FormatError{Msg: "index and trailer disagree on the stub size"}
	}
	return t, idx, nil
}

// Close releases the installer file and its parts.
func (r *Reader) Close() error {
	err := closeAll(r.closers)
	r.closers = nil
	return err
}

// closeAll closes every one of cs and returns the first error.
func closeAll[C io.Closer](cs []C) error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
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
