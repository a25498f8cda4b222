package payload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// The stages that look at bytes: the reader, the hasher and the workers.

func (p *pipeline) read(ctx context.Context, srcs []Source, work, hashc, units chan<- *job) error {
	given := map[string]bool{} // given digests already sent
	for i, s := range srcs {
		if s.Digest != "" {
			if !validDigest(s.Digest) {
				return fmt.Errorf("%s: bad digest %q", s.Name, s.Digest)
			}
			if p.known[s.Digest] || given[s.Digest] {
				// Stored already: not even opened.
				p.digests[i] = s.Digest
				continue
			}
			given[s.Digest] = true
		}
		if err := p.readSource(ctx, i, s, work, hashc, units); err != nil {
			return err
		}
	}
	return nil
}

func (p *pipeline) readSource(ctx context.Context, i int, s Source, work, hashc, units chan<- *job) error {
	rc, err := s.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	defer rc.Close()
	compress := s.Compress == Auto && !IsCompressed(s.Name)
	var head []byte // bytes read before the first chunk buffer
	if compress && p.w.solidSize > 0 {
		// Most sources that may be packed are small: read into a small
		// buffer first, so they need neither a chunk buffer nor a copy.
		sb := p.small.Get().(*[]byte)
		n, rerr := io.ReadFull(rc, *sb)
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			j := &job{kind: jobSmall, src: i, data: (*sb)[:n], small: sb, digest: s.Digest}
			return send(ctx, j, work, nil, units)
		case rerr != nil:
			return fmt.Errorf("reading %s: %w", s.Name, rerr)
		}
		head = *sb
		defer p.small.Put(sb)
	}
	var pending *job // held back one chunk: the next read says whether it is the last
	for first := true; ; first = false {
		b, err := p.big.get(ctx)
		if err != nil {
			return err
		}
		k := copy(b.in, head)
		head = nil
		n, rerr := io.ReadFull(rc, b.in[k:])
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return fmt.Errorf("reading %s: %w", s.Name, rerr)
		}
		n += k
		eof := rerr != nil
		if n == 0 {
			p.big.put(b)
			if first {
				return send(ctx, &job{kind: jobSmall, src: i, digest: s.Digest}, work, nil, units)
			}
			break
		}
		if pending != nil {
			// More follows: a multi-chunk source, hashed in order by the hasher.
			if err := send(ctx, pending, work, p.hasherFor(pending, hashc), units); err != nil {
				return err
			}
		}
		pending = &job{kind: jobChunk, src: i, data: b.in[:n], buf: b, pool: p.big, try: compress, digest: s.Digest, first: first}
		if eof {
			break
		}
	}
	pending.last = true
	var h chan<- *job
	if !pending.first {
		h = p.hasherFor(pending, hashc)
	}
	return send(ctx, pending, work, h, units)
}

// hasherFor returns the hasher's channel when the content digest of j's
// source is not given.
func (p *pipeline) hasherFor(j *job, hashc chan<- *job) chan<- *job {
	if j.digest != "" {
		return nil
	}
	return hashc
}

// hashChunks computes the digests of multi-chunk sources from their chunks,
// which arrive in order.
func hashChunks(ctx context.Context, hashc <-chan *job) {
	h := sha256.New()
	for j := range hashc {
		if ctx.Err() == nil {
			h.Write(j.data)
			if j.last {
				j.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
			}
		}
		if j.last {
			h.Reset()
		}
		j.finish()
	}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// process is a worker's part of a job.
func (p *pipeline) process(j *job) {
	if j.kind == jobSmall {
		if j.digest == "" {
			j.digest = digestOf(j.data)
		}
		j.random = looksRandom(j.data)
		return
	}
	// Only a single chunk's digest belongs to the workers; the hasher writes
	// that of a multi-chunk source's last chunk.
	single := j.kind == jobChunk && j.first && j.last
	if single && j.digest == "" {
		j.digest = digestOf(j.data)
	}
	j.out = j.data
	if j.try && (j.kind == jobSolid || !looksRandom(j.data)) {
		if j.buf.out == nil {
			j.buf.out = make([]byte, 0, len(j.data))
		}
		z := p.w.enc.EncodeAll(j.data, j.buf.out[:0])
		j.buf.out = z[:0]
		// Keep the frame only when it saves at least 1/32 of the bytes.
		if len(z) < len(j.data)-len(j.data)/32 {
			j.out, j.zstd = z, true
		}
	}
	if single && !j.zstd {
		// The stored bytes are the content: its digest is their hash.
		j.sha = j.digest[len("sha256:"):]
		return
	}
	sum := sha256.Sum256(j.out)
	j.sha = hex.EncodeToString(sum[:])
}
