package payload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// umask is the process's file mode creation mask: a file created with a
// mode it does not mask needs no chmod. Unknown, every mode is set again.
var umask = sync.OnceValue(func() os.FileMode {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("Umask:")); ok {
			if m, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32); err == nil {
				return os.FileMode(m) & 0o777
			}
		}
	}
	return 0o777
})

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
	// Each directory is made once, not once per file in it: os.Root opens
	// every component of a path it is given.
	made := map[string]bool{".": true}
	var mkdir func(d string) error
	mkdir = func(d string) error {
		if made[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		made[d] = true
		if err := root.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	}
	var dirs []File
	for _, f := range files {
		if err := ValidPath(f.Path); err != nil {
			return err
		}
		d := path.Dir(f.Path)
		switch f.Type {
		case TypeDir:
			d = f.Path
			dirs = append(dirs, f)
		case TypeFile, TypeSymlink:
		default:
			return fmt.Errorf("extract %s: unknown type %q", f.Path, f.Type)
		}
		if err := mkdir(d); err != nil {
			return fmt.Errorf("extract %s: %w", f.Path, err)
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
	dir     *outDir
	mu      sync.Mutex
	f       *os.File
	pending int // segments not yet written
	err     error
}

// outDir is a directory files are created in. It is opened once for all of
// them and closed after the last: a file is then created with one openat,
// where os.Root would open every component of its path again.
type outDir struct {
	name  string
	once  sync.Once
	r     *os.Root
	err   error
	files atomic.Int32 // files not yet created in it
}

// open returns the directory's root, opening it on first use.
func (d *outDir) open(root *os.Root) (*os.Root, error) {
	d.once.Do(func() {
		if d.name == "." {
			d.r = root
			return
		}
		d.r, d.err = root.OpenRoot(d.name)
	})
	return d.r, d.err
}

// done counts a file created (or given up); the last closes the directory.
func (d *outDir) done(root *os.Root) {
	if d.files.Add(-1) == 0 {
		d.close(root)
	}
}

// close closes the directory; once closed, open fails instead of opening
// it again.
func (d *outDir) close(root *os.Root) {
	d.once.Do(func() {})
	if d.r != nil && d.r != root {
		d.r.Close()
	}
	d.r, d.err = nil, os.ErrClosed
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
// an earlier extract must not be written through (O_EXCL fails on one).
func (f *outFile) create(root *os.Root) (*os.File, error) {
	defer f.dir.done(root)
	dir, err := f.dir.open(root)
	if err != nil {
		return nil, err
	}
	name := path.Base(f.path)
	perm := f.mode.Perm()
	fh, err := dir.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if errors.Is(err, fs.ErrExist) {
		dir.Remove(name)
		fh, err = dir.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	}
	if err != nil {
		return nil, err
	}
	if perm&umask() != 0 {
		if err := fh.Chmod(perm); err != nil {
			fh.Close()
			return nil, err
		}
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
func (r *Reader) plan(root *os.Root, files []File) ([]*chunkTask, map[string]*outDir, error) {
	tasks := map[Chunk]*chunkTask{}
	dirs := map[string]*outDir{}
	for _, f := range files {
		if f.Type != TypeFile {
			continue
		}
		d := dirs[path.Dir(f.Path)]
		if d == nil {
			d = &outDir{name: path.Dir(f.Path)}
			dirs[d.name] = d
		}
		d.files.Add(1)
	}
	for _, f := range files {
		if f.Type != TypeFile {
			continue
		}
		b := r.blobs[f.Digest]
		of := &outFile{path: f.Path, mode: f.Mode, dir: dirs[path.Dir(f.Path)]}
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
				return nil, dirs, fmt.Errorf("extract %s: %w", f.Path, err)
			}
		}
	}
	list := make([]*chunkTask, 0, len(tasks))
	for _, t := range tasks {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].c.Offset < list[j].c.Offset })
	return list, dirs, nil
}

func (r *Reader) extractFiles(parent context.Context, root *os.Root, files []File, progress func(int64)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	list, dirs, err := r.plan(root, files)
	defer func() {
		for _, d := range dirs { // those of files never created (a failure)
			d.close(root)
		}
	}()
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
