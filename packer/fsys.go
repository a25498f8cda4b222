package packer

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sealpack/sealpack/payload"
)

// maxLinks bounds symlink resolution, as the kernel does (ELOOP).
const maxLinks = 40

// rootFS is a read-only fs.FS view of the rootfs being built, for the image
// step: files are read where they are (context, FROM installer, work dir).
// Symlinks resolve inside the rootfs, like in a chroot.
type rootFS struct {
	root     *rootfs
	base     *payload.Reader
	children map[string][]string // dir -> sorted names, built on first ReadDir
}

func (b *builder) fsys() fs.FS { return &rootFS{root: b.root, base: b.base} }

var _ fs.ReadLinkFS = (*rootFS)(nil)

func (f *rootFS) Open(name string) (fs.File, error) {
	p, e, err := f.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	info := &fileInfo{name: path.Base(name), e: e}
	switch e.typ {
	case payload.TypeDir:
		return &dirFile{fsys: f, p: p, info: info}, nil
	case payload.TypeFile:
		switch {
		case e.src != "":
			fh, err := os.Open(e.src)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: err}
			}
			return &regFile{r: fh, c: fh, info: info}, nil
		case e.blob != "":
			ra, err := f.base.ReaderAt(e.blob)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: err}
			}
			return &regFile{r: io.NewSectionReader(ra, 0, ra.Size()), info: info}, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("content not readable yet")}
}

// Lstat implements fs.ReadLinkFS.
func (f *rootFS) Lstat(name string) (fs.FileInfo, error) {
	_, e, err := f.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: path.Base(name), e: e}, nil
}

// ReadLink implements fs.ReadLinkFS.
func (f *rootFS) ReadLink(name string) (string, error) {
	_, e, err := f.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e.typ != payload.TypeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.target, nil
}

// plain returns name's entry when no component of it is a symlink to
// follow (most paths): each prefix of name is looked up as it is, without
// building paths. Otherwise it returns nil and resolve takes the long way.
func (f *rootFS) plain(name string, follow bool) *entry {
	if name == "." {
		return nil
	}
	for i := 0; ; i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		e, ok := f.root.entries[name[:i]]
		switch {
		case !ok:
			return nil
		case i == len(name):
			if e.typ == payload.TypeSymlink && follow {
				return nil
			}
			return e
		case e.typ != payload.TypeDir:
			return nil
		}
	}
}

// resolve finds name's entry, following symlinks in every component (and in
// the last one when follow is set). Absolute targets and ".." stay inside.
func (f *rootFS) resolve(op, name string, follow bool) (string, *entry, error) {
	if !fs.ValidPath(name) {
		return "", nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if e := f.plain(name, follow); e != nil {
		return name, e, nil
	}
	var parts []string
	if name != "." {
		parts = strings.Split(name, "/")
	}
	cur, hops := "", 0
	for i := 0; i < len(parts); i++ {
		next := path.Join(cur, parts[i])
		e, ok := f.root.entries[next]
		if !ok {
			return "", nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		last := i == len(parts)-1
		if e.typ == payload.TypeSymlink && (!last || follow) {
			if hops++; hops > maxLinks {
				return "", nil, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
			}
			from := "/" + cur
			if path.IsAbs(e.target) {
				from = "/"
			}
			resolved := strings.TrimPrefix(path.Join(from, e.target), "/")
			var head []string
			if resolved != "" {
				head = strings.Split(resolved, "/")
			}
			parts = append(head, parts[i+1:]...)
			cur, i = "", -1
			continue
		}
		if !last && e.typ != payload.TypeDir {
			return "", nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		cur = next
	}
	if cur == "" {
		return "", &entry{typ: payload.TypeDir, mode: 0o755}, nil
	}
	return cur, f.root.entries[cur], nil
}

func (f *rootFS) list(dir string) []string {
	if f.children == nil {
		f.children = map[string][]string{}
		for p := range f.root.entries {
			d := path.Dir(p)
			if d == "." {
				d = ""
			}
			f.children[d] = append(f.children[d], path.Base(p))
		}
		for _, c := range f.children {
			sort.Strings(c)
		}
	}
	return f.children[dir]
}

type fileInfo struct {
	name string
	e    *entry
}

func (i *fileInfo) Name() string { return i.name }
func (i *fileInfo) Size() int64 {
	if i.e.typ == payload.TypeSymlink {
		return int64(len(i.e.target))
	}
	return i.e.size
}
func (i *fileInfo) Mode() fs.FileMode {
	switch i.e.typ {
	case payload.TypeDir:
		return fs.ModeDir | i.e.mode
	case payload.TypeSymlink:
		return fs.ModeSymlink | i.e.mode
	}
	return i.e.mode
}
func (i *fileInfo) ModTime() time.Time { return time.Time{} } // the payload stores no times
func (i *fileInfo) IsDir() bool        { return i.e.typ == payload.TypeDir }
func (i *fileInfo) Sys() any           { return nil }

type regFile struct {
	r interface {
		io.Reader
		io.ReaderAt
		io.Seeker
	}
	c    io.Closer
	info *fileInfo
}

func (f *regFile) Stat() (fs.FileInfo, error)                { return f.info, nil }
func (f *regFile) Read(p []byte) (int, error)                { return f.r.Read(p) }
func (f *regFile) ReadAt(p []byte, off int64) (int, error)   { return f.r.ReadAt(p, off) }
func (f *regFile) Seek(off int64, whence int) (int64, error) { return f.r.Seek(off, whence) }
func (f *regFile) Close() error {
	if f.c != nil {
		return f.c.Close()
	}
	return nil
}

type dirFile struct {
	fsys *rootFS
	p    string
	info *fileInfo
	off  int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	names := d.fsys.list(d.p)[d.off:]
	if n > 0 && len(names) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(names) > n {
		names = names[:n]
	}
	out := make([]fs.DirEntry, len(names))
	for i, name := range names {
		p := name
		if d.p != "" {
			p = d.p + "/" + name
		}
		out[i] = fs.FileInfoToDirEntry(&fileInfo{name: name, e: d.fsys.root.entries[p]})
	}
	d.off += len(names)
	return out, nil
}
