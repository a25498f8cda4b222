package payload

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
)

// AddStoredBlobs copies blobs of another payload as they are stored there,
// as AddStored does one at a time, but as one sequential pass over r's data
// area: the chunks they need are read once each, in r's data order. Between
// two single files the kernel copies them (copyRange); otherwise several
// goroutines read each chunk, check its sha256 and write it at its new
// place. It is merge's copy; its speed is that of copying the file.
func (w *Writer) AddStoredBlobs(ctx context.Context, r *Reader, digests []string, progress func(n int64)) error {
	if w.done {
		return errors.New("payload: AddStoredBlobs after Commit or Abort")
	}
	jobs, err := w.planCopy(r, digests)
	if err != nil {
		return err
	}
	if done, err := w.copyRange(ctx, r, jobs, progress); done {
		return err
	}
	return w.copyChunks(ctx, r, jobs, progress)
}

// copyJob is one chunk of r to copy to data offset to.
type copyJob struct {
	c  Chunk
	to int64
}

// planCopy assigns every chunk not copied yet a place after w.off, in r's
// data order, and records the blobs as AddStored would.
func (w *Writer) planCopy(r *Reader, digests []string) ([]copyJob, error) {
	var need []Chunk
	seen := map[int64]bool{}
	var blobs []*Blob
	for _, d := range digests {
		if w.Has(d) {
			continue
		}
		src, ok := r.blobs[d]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
		}
		blobs = append(blobs, src)
		for _, c := range src.Chunks {
			if nc, ok := w.copied[copiedChunk{r: r, off: c.Offset}]; (ok && nc.SHA256 == c.SHA256) || seen[c.Offset] {
				continue
			}
			seen[c.Offset] = true
			need = append(need, c)
		}
	}
	sort.Slice(need, func(i, j int) bool { return need[i].Offset < need[j].Offset })
	jobs := make([]copyJob, len(need))
	for i, c := range need {
		jobs[i] = copyJob{c: c, to: w.off}
		nc := c
		nc.Offset, nc.Logical = w.off, 0
		w.copied[copiedChunk{r: r, off: c.Offset}] = nc
		w.off += c.Stored
	}
	for _, src := range blobs {
		if w.Has(src.Digest) {
			continue // listed twice
		}
		nb := &Blob{Digest: src.Digest, Size: src.Size, Skip: src.Skip}
		for _, c := range src.Chunks {
			nb.Chunks = append(nb.Chunks, w.copied[copiedChunk{r: r, off: c.Offset}])
		}
		w.blobs[src.Digest] = nb
		w.order = append(w.order, src.Digest)
	}
	return jobs, nil
}

// copyChunks reads, checks and writes the jobs with one goroutine per core.
// Reads go in data order (each goroutine takes the next chunk), so the
// input is read sequentially; writes land at their planned offsets.
func (w *Writer) copyChunks(ctx context.Context, r *Reader, jobs []copyJob, progress func(n int64)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex // the sink and the next job
		next int
		wg   sync.WaitGroup
	)
	for range max(1, min(runtime.GOMAXPROCS(0), len(jobs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil {
				mu.Lock()
				if next == len(jobs) {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				if int64(cap(buf)) < j.c.Stored {
					buf = make([]byte, j.c.Stored)
				}
				b := buf[:j.c.Stored]
				if err := r.readChunk(j.c, b); err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				err := w.sink.writeAt(b, j.to)
				mu.Unlock()
				if err != nil {
					cancel(err)
					return
				}
				if progress != nil {
					progress(j.c.Stored)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
