package payload

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Reading the data area chunk by chunk: every chunk's stored bytes are
// checked against their hash before they are decoded.

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
