package payload

import (
	"context"
	"fmt"
)

// The stages that run in source order: the assembler and the collector.

// assemble takes jobs in source order, dedupes them and packs small sources
// into shared chunks.
func (p *pipeline) assemble(ctx context.Context, units <-chan *job, work, chunks chan<- *job) error {
	a := &assembler{p: p, ctx: ctx, work: work, chunks: chunks}
	for j := range units {
		if err := wait(ctx, j); err != nil {
			return err
		}
		var err error
		if j.kind == jobChunk {
			err = a.chunk(j)
		} else {
			err = a.small(j)
		}
		if err != nil {
			return err
		}
	}
	if a.cur != nil {
		return a.submit()
	}
	return nil
}

// assembler is the state of assemble.
type assembler struct {
	p            *pipeline
	ctx          context.Context
	work, chunks chan<- *job
	cur          *job // the shared chunk being filled
}

// forward hands j, complete, to the collector.
func (a *assembler) forward(j *job) error {
	select {
	case a.chunks <- j:
		return nil
	case <-a.ctx.Done():
		return context.Cause(a.ctx)
	}
}

// ready forwards a job the assembler made itself, which no worker sees.
func (a *assembler) ready(j *job) error {
	j.done = make(chan struct{})
	close(j.done)
	return a.forward(j)
}

// submit hands the shared chunk to the workers and, in order, to the
// collector.
func (a *assembler) submit() error {
	j := a.cur
	a.cur = nil
	return send(a.ctx, j, a.work, nil, a.chunks)
}

// chunk passes on a chunk of a source; the last one settles whether the
// source is a duplicate.
func (a *assembler) chunk(j *job) error {
	p := a.p
	if j.last {
		p.digests[j.src] = j.digest
		switch {
		case !p.seen[j.digest]:
			p.seen[j.digest] = true
		case j.first:
			// A single-chunk duplicate: nothing of it was written.
			p.release(j)
			return nil
		default:
			// The collector has its other chunks: it rewinds.
			j.dup = true
		}
	}
	return a.forward(j)
}

// small dedupes a small source and stores it: empty, raw on its own, or
// packed into shared chunks.
func (a *assembler) small(j *job) error {
	p := a.p
	p.digests[j.src] = j.digest
	if p.seen[j.digest] {
		p.release(j)
		return nil
	}
	p.seen[j.digest] = true
	switch {
	case len(j.data) == 0:
		p.release(j)
		return a.ready(&job{kind: jobEmpty, digest: j.digest})
	case j.random:
		// Stored raw in a chunk of its own: packing it would only make
		// the shared chunk's compressor work for nothing.
		raw := &job{kind: jobChunk, data: j.data, out: j.data, small: j.small, digest: j.digest, sha: j.digest[len("sha256:"):], first: true, last: true}
		j.small = nil // the collector returns it
		return a.ready(raw)
	}
	return a.pack(j)
}

// pack copies a small source into shared chunks, starting new ones as they
// fill, and records where its content ends.
func (a *assembler) pack(j *job) error {
	p := a.p
	pk := &packed{digest: j.digest, size: int64(len(j.data))}
	for data := j.data; ; {
		if a.cur == nil {
			b, err := p.solid.get(a.ctx)
			if err != nil {
				return err
			}
			a.cur = &job{kind: jobSolid, buf: b, pool: p.solid, data: b.in[:0], try: true}
		}
		cur := a.cur
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
		if err := a.submit(); err != nil { // full, and the source goes on
			return err
		}
	}
	p.release(j)
	a.cur.ends = append(a.cur.ends, pk)
	if len(a.cur.data) == len(a.cur.buf.in) {
		return a.submit()
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
