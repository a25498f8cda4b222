package payload

import (
	"context"
	"fmt"
	"os"
	"path"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// Extract writes the rootfs into dir (created if missing), restoring modes.
// Writes go through os.Root, so no entry, symlink or crafted path can reach
// outside dir. Chunks are decoded in parallel. progress, when not nil, gets
// the uncompressed bytes written.
func (r *Reader) Extract(ctx context.Context, dir string, progress func(n int64)) error {
	if progress == nil {
		progress = func(int64) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	files := append([]File(nil), r.index.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var dirs []File
	for _, f := range files {
		if err := ValidPath(f.Path); err != nil {
			return err
		}
		switch f.Type {
		case TypeDir:
			if err := root.MkdirAll(f.Path, 0o755); err != nil {
				return fmt.Errorf("extract %s: %w", f.Path, err)
			}
			dirs = append(dirs, f)
		case TypeFile, TypeSymlink:
			if d := path.Dir(f.Path); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("extract %s: %w", f.Path, err)
				}
			}
		default:
			return fmt.Errorf("extract %s: unknown type %q", f.Path, f.Type)
		}
	}

	if err := r.extractFiles(ctx, root, files, progress); err != nil {
		return err
	}
	// Symlinks last, so no file is ever written through one.
	for _, f := range files {
		if f.Type != TypeSymlink {
			continue
		}
		root.Remove(f.Path)
		if err := root.Symlink(f.Target, f.Path); err != nil {
			return fmt.Errorf("extract %s: %w", f.Path, err)
		}
	}
	// Directory modes last (deepest first), so a read-only directory is filled first.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(dirs[i].Path, dirs[i].Mode.Perm()); err != nil {
			return fmt.Errorf("extract %s: %w", dirs[i].Path, err)
		}
	}
	return nil
}

type openFile struct {
	f       *os.File
	pending atomic.Int32
}

func (r *Reader) extractFiles(parent context.Context, root *os.Root, files []File, progress func(int64)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	type task struct {
		of *openFile
		c  Chunk
	}
	tasks := make(chan task, 64)
	var (
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	finish := func(of *openFile) {
		if of.pending.Add(-1) == 0 {
			if err := of.f.Close(); err != nil {
				fail(err)
			}
		}
	}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				if ctx.Err() == nil {
					data, err := r.chunk(t.c)
					if err == nil {
						_, err = t.of.f.WriteAt(data, t.c.Logical)
					}
					if err != nil {
						fail(fmt.Errorf("extract %s: %w", t.of.f.Name(), err))
					}
					progress(int64(len(data)))
				}
				finish(t.of)
			}
		}()
	}
	func() {
		defer close(tasks)
		for _, f := range files {
			if f.Type != TypeFile || ctx.Err() != nil {
				continue
			}
			b := r.blobs[f.Digest]
			root.Remove(f.Path) // a link left by an earlier extract must not be written through
			fh, err := root.OpenFile(f.Path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err == nil {
				err = fh.Chmod(f.Mode.Perm())
			}
			if err != nil {
				fail(fmt.Errorf("extract %s: %w", f.Path, err))
				return
			}
			of := &openFile{f: fh}
			of.pending.Store(int32(len(b.Chunks)) + 1)
			for _, c := range b.Chunks {
				select {
				case tasks <- task{of: of, c: c}:
				case <-ctx.Done():
					of.pending.Add(-1)
				}
			}
			finish(of)
		}
	}()
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return parent.Err()
}
