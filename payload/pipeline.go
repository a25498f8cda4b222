package payload

import (
	"context"
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
// The reader, hasher and workers are in pipeline_read.go, the assembler and
// collector in pipeline_assemble.go.
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
