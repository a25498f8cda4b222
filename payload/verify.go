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
// every stored chunk against the index, using all cores. progress, when not
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
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for t := range tasks {
				if t.stub {
					h := sha256.New()
					n, err := io.Copy(h, io.TeeReader(r.Stub(), progressWriter(progress)))
					if err == nil && (n != r.index.StubSize || hex.EncodeToString(h.Sum(nil)) != r.index.StubSHA256) {
						err = fmt.Errorf("installer program (first %d bytes): %w", r.index.StubSize, ErrChecksum)
					}
					if err != nil {
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
		names := make(map[string]string, len(r.index.Files))
		for _, f := range r.index.Files {
			if _, ok := names[f.Digest]; !ok && f.Type == TypeFile {
				names[f.Digest] = f.Path
			}
		}
		for _, b := range r.index.Blobs {
			name, ok := names[b.Digest]
			if !ok {
				name = b.Digest
			}
			for _, c := range b.Chunks {
				if !send(task{name: name, c: c}) {
					return
				}
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

// VerifyBytes is the number of bytes Verify reads, for a progress total.
func (r *Reader) VerifyBytes() int64 {
	n := r.index.StubSize
	for _, b := range r.index.Blobs {
		for _, c := range b.Chunks {
			n += c.Stored
		}
	}
	return n
}

type progressWriter func(int64)

func (p progressWriter) Write(b []byte) (int, error) { p(int64(len(b))); return len(b), nil }
