package payload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// pipeline runs one Add. Stages, each its own goroutine(s):
//
//   - reader (1): opens sources in order and reads them. A source that may be
//     compressed and is smaller than the solid size becomes one "small" job;
//     any other source is cut into chunk jobs. Chunks of a multi-chunk source
//     also go to the hasher.
//   - workers (N): hash small and single-chunk sources, judge whether bytes
//     are worth compressing, compress chunks, hash what is stored.
//   - hasher (1): the content digest of multi-chunk sources, in order, so the
//     reader never hashes.
//   - assembler (1, in order): dedupes by digest and packs small sources back
//     to back into shared (solid) chunks, which it hands to the workers.
//   - collector (1, in order): writes chunks and records blobs.
//
// Every decision that shapes the output is taken in order (assembler and
// collector) or from the bytes alone (workers), so the output does not depend
// on timing or on the number of workers.
type pipeline struct {
	w       *Writer
	ctx     context.Context
	digests []string
	known   map[string]bool // digests stored before this Add (read by the reader)
	seen    map[string]bool // digests stored or being stored (the assembler's)
	big     *bufPool        // chunk buffers of the reader
	solid   *bufPool        // shared chunks of the assembler
	small   sync.Pool       // *[]byte: buffers of small sources
}

type jobKind uint8

const (
	jobSmall jobKind = iota // a whole small source, to be packed
	jobChunk                // a chunk of one source (or a whole incompressible small one)
	jobSolid                // a shared chunk of small sources
	jobEmpty                // no bytes: records an empty blob
)

type job struct {
	kind        jobKind
	src         int
	data        []byte  // uncompressed bytes
	buf         *buffer // pooled storage of data, nil when the GC owns data
	pool        *bufPool
	small       *[]byte // or a small buffer from pipeline.small
	try         bool    // compress, when the bytes do not look random
	digest      string  // content digest: given, or set by a worker (small, single chunk) or the hasher (last chunk)
	first, last bool    // chunk jobs: position in their source

	// Set by the workers.
	out    []byte // what to store
	zstd   bool
	sha    string // hex sha256 of out
	random bool   // small: looks incompressible, so it is stored raw on its own

	// Set by the assembler.
	dup  bool      // last chunk of a multi-chunk source already stored: rewind
	ends []*packed // solid: the blobs whose content ends in this chunk

	// Set by the collector.
	desc Chunk

	pending atomic.Int32 // stages still to finish this job
	done    chan struct{}
}

func (j *job) finish() {
	if j.pending.Add(-1) == 0 {
		close(j.done)
	}
}

// release returns j's buffer once its bytes are copied or written.
func (p *pipeline) release(j *job) {
	if j.buf != nil {
		j.pool.put(j.buf)
		j.buf = nil
	}
	if j.small != nil {
		p.small.Put(j.small)
		j.small = nil
	}
}

// packed is a small blob packed into one or more solid chunks.
type packed struct {
	digest     string
	size, skip int64
	jobs       []*job
}

// buffer is a reusable pair: uncompressed bytes and the compressed output.
type buffer struct{ in, out []byte }

// bufPool bounds the memory of a stage: get blocks until a buffer is free.
type bufPool struct {
	c    chan *buffer
	size int
}

func newBufPool(n, size int) *bufPool {
	p := &bufPool{c: make(chan *buffer, n), size: size}
	for range n {
		p.c <- nil // allocated on first use
	}
	return p
}

func (p *bufPool) get(ctx context.Context) (*buffer, error) {
	select {
	case b := <-p.c:
		if b == nil {
			b = &buffer{in: make([]byte, p.size)}
		}
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p *bufPool) put(b *buffer) { p.c <- b }

func newPipeline(ctx context.Context, w *Writer, n int) *pipeline {
	p := &pipeline{w: w, ctx: ctx, digests: make([]string, n),
		known: make(map[string]bool, len(w.blobs)), seen: make(map[string]bool, len(w.blobs)+n)}
	for d := range w.blobs {
		p.known[d], p.seen[d] = true, true
	}
	size := min(w.solidSize, w.chunkSize)
	p.small.New = func() any { b := make([]byte, size); return &b }
	return p
}

func (p *pipeline) run(srcs []Source) error {
	w := p.w
	ctx, cancel := context.WithCancelCause(p.ctx)
	defer cancel(nil)
	p.big = newBufPool(2*w.workers+4, w.chunkSize)
	p.solid = newBufPool(w.workers+2, w.chunkSize)
	work := make(chan *job, 2*w.workers)
	hashc := make(chan *job, 4)
	units := make(chan *job, 64)
	chunks := make(chan *job, 2*w.workers+4)

	var stages, helpers sync.WaitGroup
	stages.Add(2)
	go func() {
		defer stages.Done()
		defer close(units)
		defer close(hashc)
		if err := p.read(ctx, srcs, work, hashc, units); err != nil {
			cancel(err)
		}
	}()
	go func() {
		defer stages.Done()
		defer close(chunks)
		if err := p.assemble(ctx, units, work, chunks); err != nil {
			cancel(err)
		}
	}()
	go func() { stages.Wait(); close(work) }()
	for range w.workers {
		helpers.Add(1)
		go func() {
			defer helpers.Done()
			for j := range work {
				if ctx.Err() == nil {
					p.process(j)
				}
				j.finish()
			}
		}()
	}
	helpers.Add(1)
	go func() {
		defer helpers.Done()
		hashChunks(ctx, hashc)
	}()
	if err := p.collect(ctx, chunks); err != nil {
		cancel(err)
	}
	for range chunks { // let the assembler finish
	}
	helpers.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// send hands a job to the workers (and the hasher) and, in order, to next.
func send(ctx context.Context, j *job, work, hashc, next chan<- *job) error {
	j.done = make(chan struct{})
	j.pending.Store(1)
	if hashc != nil {
		j.pending.Store(2)
	}
	// The job goes to next last: a job that never reaches next is waited on
	// by nobody, so giving up between the sends cannot hang a stage.
	for _, c := range []chan<- *job{work, hashc, next} {
		if c == nil {
			continue
		}
		select {
		case c <- j:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

func wait(ctx context.Context, j *job) error {
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

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

// assemble takes jobs in source order, dedupes them and packs small sources
// into shared chunks.
func (p *pipeline) assemble(ctx context.Context, units <-chan *job, work, chunks chan<- *job) error {
	var cur *job // the shared chunk being filled
	submit := func() error {
		j := cur
		cur = nil
		return send(ctx, j, work, nil, chunks)
	}
	ready := func(j *job) error {
		j.done = make(chan struct{})
		close(j.done)
		select {
		case chunks <- j:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for j := range units {
		if err := wait(ctx, j); err != nil {
			return err
		}
		if j.kind == jobChunk {
			if j.last {
				p.digests[j.src] = j.digest
				switch {
				case !p.seen[j.digest]:
					p.seen[j.digest] = true
				case j.first:
					// A single-chunk duplicate: nothing of it was written.
					p.release(j)
					continue
				default:
					// The collector has its other chunks: it rewinds.
					j.dup = true
				}
			}
			select {
			case chunks <- j:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			continue
		}
		// A small source.
		p.digests[j.src] = j.digest
		if p.seen[j.digest] {
			p.release(j)
			continue
		}
		p.seen[j.digest] = true
		switch {
		case len(j.data) == 0:
			p.release(j)
			if err := ready(&job{kind: jobEmpty, digest: j.digest}); err != nil {
				return err
			}
			continue
		case j.random:
			// Stored raw in a chunk of its own: packing it would only make
			// the shared chunk's compressor work for nothing.
			raw := &job{kind: jobChunk, data: j.data, out: j.data, small: j.small, digest: j.digest, sha: j.digest[len("sha256:"):], first: true, last: true}
			j.small = nil // the collector returns it
			if err := ready(raw); err != nil {
				return err
			}
			continue
		}
		pk := &packed{digest: j.digest, size: int64(len(j.data))}
		for data := j.data; ; {
			if cur == nil {
				b, err := p.solid.get(ctx)
				if err != nil {
					return err
				}
				cur = &job{kind: jobSolid, buf: b, pool: p.solid, data: b.in[:0], try: true}
			}
			if len(pk.jobs) == 0 {
				pk.skip = int64(len(cur.data))
			}
			n := copy(cur.buf.in[len(cur.data):], data)
			cur.data = cur.buf.in[:len(cur.data)+n]
			pk.jobs = append(pk.jobs, cur)
			data = data[n:]
			if len(data) == 0 {
				break
			}
			if err := submit(); err != nil { // full, and the source goes on
				return err
			}
		}
		p.release(j)
		cur.ends = append(cur.ends, pk)
		if len(cur.data) == len(cur.buf.in) {
			if err := submit(); err != nil {
				return err
			}
		}
	}
	if cur != nil {
		return submit()
	}
	return nil
}

// collect writes chunks in order and records the blobs they complete.
func (p *pipeline) collect(ctx context.Context, chunks <-chan *job) error {
	w := p.w
	var cur *Blob // the source being written chunk by chunk
	var start int64
	for j := range chunks {
		if err := wait(ctx, j); err != nil {
			return err
		}
		if j.kind == jobEmpty {
			p.record(&Blob{Digest: j.digest})
			continue
		}
		if err := w.sink.writeAt(j.out, w.off); err != nil {
			return fmt.Errorf("writing payload: %w", err)
		}
		j.desc = Chunk{Offset: w.off, Stored: int64(len(j.out)), Size: int64(len(j.data)), Zstd: j.zstd, SHA256: j.sha}
		w.off += int64(len(j.out))
		switch j.kind {
		case jobSolid:
			for _, pk := range j.ends {
				b := &Blob{Digest: pk.digest, Size: pk.size, Skip: pk.skip}
				for _, pj := range pk.jobs {
					b.Chunks = append(b.Chunks, pj.desc)
				}
				p.record(b)
			}
			j.ends = nil
		case jobChunk:
			if j.first {
				cur, start = &Blob{}, j.desc.Offset
			}
			cur.Chunks = append(cur.Chunks, j.desc)
			cur.Size += j.desc.Size
			if j.last {
				if j.dup {
					// A multi-chunk duplicate: rewind over what was just written.
					w.off = start
				} else {
					cur.Digest = j.digest
					p.record(cur)
				}
				cur = nil
			}
		}
		p.release(j)
	}
	return nil
}

func (p *pipeline) record(b *Blob) {
	p.w.blobs[b.Digest] = b
	p.w.order = append(p.w.order, b.Digest)
}
