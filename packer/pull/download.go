package pull

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// download is the fetch of one layer into the cache.
type download struct {
	b      *blob
	cached bool // an entry of the right size exists; verified before use
	done   chan struct{}
	err    error
}

// downloads fetches layers into the cache, jobs at a time, in the order the
// payload stores them, so the Writer rarely waits.
type downloads struct {
	byDigest map[string]*download
	wg       sync.WaitGroup
	mu       sync.Mutex
	first    error // the first failure, which stops the others
}

func (c *client) startDownloads(ctx context.Context, stop context.CancelFunc, layers []*blob, m *meter) *downloads {
	ds := &downloads{byDigest: map[string]*download{}}
	list := make([]*download, 0, len(layers))
	for _, b := range layers {
		d := &download{b: b, cached: c.cache.has(b.digest, b.size), done: make(chan struct{})}
		ds.byDigest[b.digest] = d
		list = append(list, d)
	}
	queue := make(chan *download)
	ds.wg.Add(1)
	go func() {
		defer ds.wg.Done()
		defer close(queue)
		for i, d := range list {
			select {
			case queue <- d:
			case <-ctx.Done():
				for _, d := range list[i:] {
					d.err = ctx.Err()
					close(d.done)
				}
				return
			}
		}
	}()
	for range c.cfg.jobs {
		ds.wg.Add(1)
		go func() {
			defer ds.wg.Done()
			for d := range queue {
				if d.err = c.fetchLayer(ctx, d, m); d.err != nil {
					ds.mu.Lock()
					if ds.first == nil && ctx.Err() == nil {
						ds.first = d.err
					}
					ds.mu.Unlock()
					stop()
				}
				close(d.done)
			}
		}()
	}
	return ds
}

// wait blocks until the layer is in the cache.
func (ds *downloads) wait(ctx context.Context, digest string) error {
	d := ds.byDigest[digest]
	select {
	case <-d.done:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// err returns the first failure, if any.
func (ds *downloads) err() error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.first
}

// fetchLayer makes sure a good copy of the layer is in the cache.
func (c *client) fetchLayer(ctx context.Context, d *download, m *meter) error {
	b := d.b
	what := "blob " + b.digest
	if d.cached {
		if c.cache.verify(b.digest, b.size) {
			return nil
		}
		c.log.printf("cache entry %s is corrupt: fetching it again", b.digest)
		m.grow(b.size)
	}
	attempts, err := c.retry(ctx, what, func() error {
		rc, err := c.openBlob(ctx, b.ref.src, b.digest)
		if err != nil {
			return err
		}
		defer rc.Close()
		e, err := c.cache.create(b.digest)
		if err != nil {
			return permanent{err}
		}
		in := &counter{r: io.LimitReader(rc, b.size+1), m: m}
		n, err := io.CopyBuffer(fileWriter{e}, in, make([]byte, 256<<10))
		if err == nil && n != b.size {
			err = permanent{fmt.Errorf("registry sent %d bytes, the manifest says %d", n, b.size)}
		}
		if err != nil {
			m.add(-in.n)
			e.discard()
			return err
		}
		return e.commit()
	})
	if err != nil {
		return c.fail(b.ref, what, attempts, err)
	}
	return nil
}

// fileWriter hides the file's ReadFrom, so copies use our larger buffer, and
// marks write failures (a full disk) as not worth a retry.
type fileWriter struct{ e *entry }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.e.Write(p)
	if err != nil {
		err = permanent{fmt.Errorf("blob cache: %w", err)}
	}
	return n, err
}

// stream opens a layer for the Writer when there is no cache: straight from
// the registry, checked for size and digest as it is read.
func (c *client) stream(ctx context.Context, b *blob, m *meter) (io.ReadCloser, error) {
	what := "blob " + b.digest
	var rc io.ReadCloser
	attempts, err := c.retry(ctx, what, func() error {
		var err error
		rc, err = c.openBlob(ctx, b.ref.src, b.digest)
		return err
	})
	if err != nil {
		return nil, c.fail(b.ref, what, attempts, err)
	}
	return &streamed{c: c, b: b, rc: rc, in: &counter{r: io.LimitReader(rc, b.size+1), m: m}}, nil
}

type streamed struct {
	c  *client
	b  *blob
	rc io.ReadCloser
	in *counter
}

func (s *streamed) Read(p []byte) (int, error) {
	n, err := s.in.Read(p)
	switch {
	case err == io.EOF && s.in.n != s.b.size:
		err = fmt.Errorf("registry sent %d bytes, the manifest says %d", s.in.n, s.b.size)
	case err == nil && s.in.n > s.b.size:
		err = fmt.Errorf("registry sent more than the %d bytes the manifest says", s.b.size)
	}
	if err != nil && err != io.EOF {
		err = s.c.fail(s.b.ref, "blob "+s.b.digest, 1, err)
	}
	return n, err
}

func (s *streamed) Close() error { return s.rc.Close() }
