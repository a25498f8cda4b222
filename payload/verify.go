package payload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// Verify checks every byte of the installer: the stub against its hash and
// every stored chunk against the index, each once (chunks are shared by small
// blobs), in data order, using all cores, and a signature block against its
// checksum (what it signs is internal/signature's to check). progress, when not
// nil, is called with byte counts as they are checked (from several goroutines).
func (r *Reader) Verify(ctx context.Context, progress func(n int64)) error {
	if progress == nil {
		progress = func(int64) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type task struct {
		name string
		c    Chunk
		stub bool
	}
	tasks := make(chan task)
	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	if _, err := r.Signature(); err != nil {
		fail(err)
	}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for t := range tasks {
				if t.stub {
					if err := r.verifyStub(progress); err != nil {
						fail(err)
					}
					continue
				}
				if int64(cap(buf)) < t.c.Stored {
					buf = make([]byte, t.c.Stored)
				}
				if err := r.readChunk(t.c, buf[:t.c.Stored]); err != nil {
					fail(fmt.Errorf("%s: %w", t.name, err))
				}
				progress(t.c.Stored)
			}
		}()
	}
	send := func(t task) bool {
		select {
		case tasks <- t:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(tasks)
		if !send(task{stub: true}) {
			return
		}
		for _, c := range r.index.storedChunks() {
			if !send(task{name: r.chunkOwner(c), c: c}) {
				return
			}
		}
	}()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) > 0 {
		const most = 10
		if len(errs) > most {
			errs = append(errs[:most], fmt.Errorf("and %d more", len(errs)-most))
		}
		return errors.Join(errs...)
	}
	return nil
}

// verifyStub checks the installer program against its hash in the index.
func (r *Reader) verifyStub(progress func(n int64)) error {
	h := sha256.New()
	n, err := io.Copy(h, io.TeeReader(r.Stub(), progressWriter(progress)))
	if err == nil && (n != r.index.StubSize || hex.EncodeToString(h.Sum(nil)) != r.index.StubSHA256) {
		err = fmt.Errorf("installer program (first %d bytes): %w", r.index.StubSize, ErrChecksum)
	}
	return err
}

// VerifyBytes is the number of bytes Verify reads, for a progress total.
func (r *Reader) VerifyBytes() int64 {
	n := r.index.StubSize
	for _, c := range r.index.storedChunks() {
		n += c.Stored
	}
	return n
}

// chunkOwner names a chunk in an error: the first file (in path order) whose
// content lies in it, else the first blob.
func (r *Reader) chunkOwner(c Chunk) string {
	r.ownersOnce.Do(func() {
		r.owners = map[int64]string{}
		// Backwards, so the first owner is the one left.
		for i := len(r.index.Blobs) - 1; i >= 0; i-- {
			for _, bc := range r.index.Blobs[i].Chunks {
				r.owners[bc.Offset] = r.index.Blobs[i].Digest
			}
		}
		for i := len(r.index.Files) - 1; i >= 0; i-- {
			if f := &r.index.Files[i]; f.Type == TypeFile {
				for _, fc := range r.blobs[f.Digest].Chunks {
					r.owners[fc.Offset] = f.Path
				}
			}
		}
	})
	return r.owners[c.Offset]
}

type progressWriter func(int64)

func (p progressWriter) Write(b []byte) (int, error) { p(int64(len(b))); return len(b), nil }
