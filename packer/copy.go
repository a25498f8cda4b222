package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// source is one COPY source found in the context.
type source struct {
	name string // base name, as matched (a symlink keeps its own name)
	real string // absolute path with symlinks resolved
	dir  bool
}

// copy runs COPY: files, directories (their content) and globs from the
// context into the rootfs. Nothing is read here; entries point at the context.
func (b *builder) copy(c *kubefile.Copy) error {
	var srcs []source
	for _, s := range c.Sources {
		found, err := b.sources(s)
		if err != nil {
			return kubefile.Errorf(c.Pos, "COPY %s: %w", s, err)
		}
		srcs = append(srcs, found...)
	}
	dest := cleanDest(c.Dest)
	destDir := strings.HasSuffix(c.Dest, "/") || strings.HasSuffix(c.Dest, "/.") || c.Dest == "." || dest == ""
	if len(srcs) > 1 && !destDir {
		return kubefile.Errorf(c.Pos, "COPY: %d sources, so the destination %s must be a directory ending in /", len(srcs), c.Dest)
	}
	var chmod *fs.FileMode
	if c.HasChmod {
		chmod = &c.Chmod
	}
	for _, s := range srcs {
		var err error
		if s.dir {
			err = b.addTree(s.real, dest, chmod, b.excluded)
		} else {
			target := dest
			if destDir || b.root.isDir(dest) {
				target = path.Join(dest, s.name)
			}
			err = b.addFile(s.real, target, chmod)
		}
		if err != nil {
			return kubefile.Errorf(c.Pos, "COPY %s: %w", s.name, err)
		}
	}
	return nil
}

// sources resolves one COPY source (a path or a glob) inside the context. A
// source that leaves the context, through ".." or a symlink, is an error.
func (b *builder) sources(pattern string) ([]source, error) {
	p := filepath.Join(b.ctxDir, filepath.FromSlash(pattern))
	if !within(b.ctxDir, p) {
		return nil, fmt.Errorf("outside the build context %s", b.ctxDir)
	}
	matches := []string{p}
	if hasGlob(pattern) {
		var err error
		if matches, err = filepath.Glob(p); err != nil {
			return nil, fmt.Errorf("bad pattern: %w", err)
		}
		sort.Strings(matches)
	}
	var out []source
	for _, m := range matches {
		real, err := filepath.EvalSymlinks(m)
		if errors.Is(err, fs.ErrNotExist) {
			if m != p {
				continue // a dangling link matched by a glob
			}
			return nil, fmt.Errorf("no such file or directory in the build context %s", b.ctxDir)
		}
		if err != nil {
			return nil, err
		}
		if !within(b.ctxReal, real) {
			return nil, fmt.Errorf("resolves to %s, outside the build context %s (through a symlink)", real, b.ctxDir)
		}
		if b.excluded(real) {
			continue
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() && !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is a %s: an installer stores only files, directories and symlinks", m, kind(st.Mode()))
		}
		out = append(out, source{name: filepath.Base(m), real: real, dir: st.IsDir()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no file in the build context %s matches", b.ctxDir)
	}
	return out, nil
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// within reports whether p is dir or below it (both clean and absolute).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// addFile places the regular file at real (on disk) at target in the rootfs.
func (b *builder) addFile(real, target string, chmod *fs.FileMode) error {
	st, err := os.Stat(real)
	if err != nil {
		return err
	}
	e := &entry{typ: payload.TypeFile, mode: st.Mode().Perm(), size: st.Size(), src: real}
	if chmod != nil {
		e.mode = *chmod
	}
	return b.root.put(target, e, false)
}

// addTree places the content of directory src (on disk) under dest in the
// rootfs. Symlinks inside are kept as symlinks (never followed), as Docker
// does; other special files are errors.
func (b *builder) addTree(src, dest string, chmod *fs.FileMode, skip func(string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && skip(p) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := path.Join(dest, filepath.ToSlash(rel))
		if rel == "." {
			target = dest
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm()
		if chmod != nil {
			mode = *chmod
		}
		switch {
		case d.IsDir():
			if target == "" {
				return nil // the rootfs root has no entry
			}
			// An existing directory keeps its mode unless --chmod says otherwise.
			return b.root.put(target, &entry{typ: payload.TypeDir, mode: mode}, chmod == nil && rel == ".")
		case info.Mode().IsRegular():
			return b.root.put(target, &entry{typ: payload.TypeFile, mode: mode, size: info.Size(), src: p}, false)
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return b.root.put(target, &entry{typ: payload.TypeSymlink, mode: 0o777, target: t}, false)
		default:
			return fmt.Errorf("%s is a %s: an installer stores only files, directories and symlinks", p, kind(info.Mode()))
		}
	})
}

// kind names a special file type for messages.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file (" + m.Type().String() + ")"
}
