package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
)

// A blob's content read as a stream (verified at EOF) or at any offset.

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
