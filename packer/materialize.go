package packer

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/sealpack/sealpack/payload"
)

// materialize writes the rootfs into the work dir (created on first use) and
// returns it. Entries already there, unchanged since the last RUN, are kept.
func (b *builder) materialize(ctx context.Context) (string, error) {
	if b.work == "" {
		d, err := os.MkdirTemp(b.opts.TempDir, "sealpack-rootfs-")
		if err != nil {
			return "", err
		}
		b.scratch = append(b.scratch, d)
		b.work = d
	}
	if err := writeTree(ctx, b.root, b.work, b.base); err != nil {
		return "", err
	}
	return b.work, nil
}

// writeTree writes root's entries into dir, skipping those whose work stamp
// says they are already there, and stamps what it writes.
func writeTree(ctx context.Context, root *rootfs, dir string, base *payload.Reader) error {
	paths := root.paths()
	var dirs, files []string
	for _, p := range paths {
		e := root.entries[p]
		full := filepath.Join(dir, filepath.FromSlash(p))
		switch e.typ {
		case payload.TypeDir:
			if err := ensureDir(full); err != nil {
				return err
			}
			dirs = append(dirs, p)
		case payload.TypeFile:
			if e.work == nil {
				files = append(files, p)
			}
		}
	}
	if err := writeFiles(ctx, root, dir, files, base); err != nil {
		return err
	}
	for _, p := range paths {
		e := root.entries[p]
		if e.typ != payload.TypeSymlink || e.work != nil {
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.RemoveAll(full); err != nil {
			return err
		}
		if err := os.Symlink(e.target, full); err != nil {
			return err
		}
	}
	// Modes of directories last, deepest first, so a read-only one was filled.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(dirs[i])), root.entries[dirs[i]].mode); err != nil {
			return err
		}
	}
	return nil
}

// ensureDir makes full a directory, replacing a file or link that a COPY
// replaced in the rootfs.
func ensureDir(full string) error {
	st, err := os.Lstat(full)
	if err == nil && st.IsDir() {
		// Writable while filling it (a RUN may have made it read-only); its
		// mode is set again once every entry is written.
		return os.Chmod(full, 0o755)
	}
	if err == nil {
		if err := os.Remove(full); err != nil {
			return err
		}
	}
	return os.Mkdir(full, 0o755)
}

// writeFiles copies files in parallel: a few at a time, since copying is
// mostly waiting for the disk.
func writeFiles(ctx context.Context, root *rootfs, dir string, files []string, base *payload.Reader) error {
	work := make(chan string)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(len(files), 2*runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if err := writeFile(root.entries[p], filepath.Join(dir, filepath.FromSlash(p)), base); err != nil {
					select {
					case errc <- fmt.Errorf("%s: %w", p, err):
					default:
					}
				}
			}
		}()
	}
	var err error
loop:
	for _, p := range files {
		select {
		case work <- p:
		case err = <-errc:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// writeFile writes one file entry at full and stamps it. A file already at
// full is removed first: it may be a hard link a RUN made to something else.
func writeFile(e *entry, full string, base *payload.Reader) error {
	if err := os.RemoveAll(full); err != nil {
		return err
	}
	var in io.ReadCloser
	var err error
	if e.blob != "" {
		in, err = base.Open(e.blob)
	} else {
		in, err = os.Open(e.src)
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(full, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(e.mode); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	st, err := os.Lstat(full)
	if err != nil {
		return err
	}
	e.work = stampOf(st)
	return nil
}

// rescan reads the work dir back into the rootfs after a RUN. Files the RUN
// left alone keep their source; the others are read from the work dir.
func (b *builder) rescan() error {
	old := b.root
	next := newRootfs()
	err := filepath.WalkDir(b.work, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if full == b.work {
			return nil
		}
		rel, err := filepath.Rel(b.work, full)
		if err != nil {
			return err
		}
		p := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := payload.ValidPath(p); err != nil {
			return fmt.Errorf("RUN created %q, a name an installer cannot store", p)
		}
		var e *entry
		switch {
		case d.IsDir():
			e = &entry{typ: payload.TypeDir, mode: info.Mode().Perm()}
		case info.Mode().IsRegular():
			st := stampOf(info)
			e = &entry{typ: payload.TypeFile, mode: info.Mode().Perm(), size: info.Size(), src: full, work: st}
			if o, ok := old.entries[p]; ok && o.typ == payload.TypeFile && o.work.same(st) {
				e.src, e.blob = o.src, o.blob
			}
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(full)
			if err != nil {
				return err
			}
			e = &entry{typ: payload.TypeSymlink, mode: 0o777, target: t, work: &stamp{}}
		default:
			return fmt.Errorf("RUN created %s, a %s: an installer stores only files, directories and symlinks", p, kind(info.Mode()))
		}
		next.entries[p] = e
		return nil
	})
	if err != nil {
		return err
	}
	b.root = next
	return nil
}

// removeAll removes a work dir even when a RUN left read-only directories.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}
