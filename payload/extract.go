package payload

import (
	"context"
	"fmt"
	"os"
	"path"
	"runtime"
	"sort"
	"sync"
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

// outFile is a file being extracted: opened by the first segment written to
// it, closed after the last, so only files in progress hold descriptors.
type outFile struct {
	path    string
	mode    os.FileMode
	mu      sync.Mutex
	f       *os.File
	pending int // segments not yet written
	err     error
}

// segment is the part of a chunk's uncompressed bytes that goes to one file.
type segment struct {
	of     *outFile
	at     int64 // offset in the file
	lo, hi int64 // bytes of the chunk
}

// chunkTask is one stored chunk and every file segment it holds.
type chunkTask struct {
	c    Chunk
	segs []segment
}

// create opens f for writing, replacing what is at its path: a link left by
// an earlier extract must not be written through.
func (f *outFile) create(root *os.Root) (*os.File, error) {
	root.Remove(f.path)
	fh, err := root.OpenFile(f.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := fh.Chmod(f.mode.Perm()); err != nil {
		fh.Close()
		return nil, err
	}
	return fh, nil
}

// write writes one segment, opening the file first if needed and closing it
// after its last segment.
func (f *outFile) write(root *os.Root, b []byte, at int64) error {
	f.mu.Lock()
	if f.f == nil && f.err == nil {
		f.f, f.err = f.create(root)
	}
	fh, err := f.f, f.err
	f.mu.Unlock()
	if err == nil {
		_, err = fh.WriteAt(b, at)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending--; f.pending == 0 && f.f != nil {
		if cerr := f.f.Close(); err == nil {
			err = cerr
		}
		f.f = nil
	}
	return err
}

// plan lists the stored chunks that files need, in data order, each with the
// segments it holds, so every chunk is decoded once however many files share
// it. Files without content are created here.
func (r *Reader) plan(root *os.Root, files []File) ([]*chunkTask, error) {
	tasks := map[Chunk]*chunkTask{}
	for _, f := range files {
		if f.Type != TypeFile {
			continue
		}
		b := r.blobs[f.Digest]
		of := &outFile{path: f.Path, mode: f.Mode}
		for i, c := range b.Chunks {
			lo, hi := b.span(i)
			if lo >= hi {
				continue
			}
			key := cacheKey(c)
			t := tasks[key]
			if t == nil {
				t = &chunkTask{c: key}
				tasks[key] = t
			}
			t.segs = append(t.segs, segment{of: of, at: c.Logical + lo - b.Skip, lo: lo, hi: hi})
			of.pending++
		}
		if of.pending == 0 {
			fh, err := of.create(root)
			if err == nil {
				err = fh.Close()
			}
			if err != nil {
				return nil, fmt.Errorf("extract %s: %w", f.Path, err)
			}
		}
	}
	list := make([]*chunkTask, 0, len(tasks))
	for _, t := range tasks {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].c.Offset < list[j].c.Offset })
	return list, nil
}

func (r *Reader) extractFiles(parent context.Context, root *os.Root, files []File, progress func(int64)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	list, err := r.plan(root, files)
	if err != nil {
		return err
	}
	tasks := make(chan *chunkTask)
	var (
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	var wg sync.WaitGroup
	// Twice the cores: creating and writing files blocks in the kernel,
	// and another worker can decode meanwhile.
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stored, out []byte
			for t := range tasks {
				data, err := r.chunkInto(t.c, &stored, &out)
				if err != nil {
					fail(fmt.Errorf("extract %s: %w", t.segs[0].of.path, err))
				}
				for _, s := range t.segs {
					if err != nil || ctx.Err() != nil {
						s.of.abandon()
						continue
					}
					if werr := s.of.write(root, data[s.lo:s.hi], s.at); werr != nil {
						fail(fmt.Errorf("extract %s: %w", s.of.path, werr))
					}
					progress(s.hi - s.lo)
				}
			}
		}()
	}
	for _, t := range list {
		select {
		case tasks <- t:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(tasks)
	wg.Wait()
	// Files whose chunks were never handed out (cancelled) are closed here.
	for _, t := range list {
		for _, s := range t.segs {
			s.of.closeAll()
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return parent.Err()
}

// abandon counts a segment that will not be written.
func (f *outFile) abandon() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending--; f.pending == 0 && f.f != nil {
		f.f.Close()
		f.f = nil
	}
}

// closeAll closes f whatever remains to be written (after a failure).
func (f *outFile) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
}
