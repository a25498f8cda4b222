package packer

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/sealpack/sealpack/payload"
)

// entry is one path of the rootfs being built. Its content stays where it is
// (a file of the context, a blob of the FROM installer, a file RUN wrote) until
// the payload is written: nothing is copied unless a RUN needs a real tree.
type entry struct {
	typ    payload.FileType
	mode   fs.FileMode // permission bits
	size   int64
	src    string // file: path on disk to read
	blob   string // file: digest in the FROM installer (src is empty)
	stored string // file: digest already added to the Writer (image step)
	target string // symlink target
	work   *stamp // set while the entry is present, unchanged, in the work dir
}

// rootfs is the virtual image tree: clean slash paths (no leading "/", the
// root itself is not an entry) to entries.
type rootfs struct {
	entries map[string]*entry
}

func newRootfs() *rootfs { return &rootfs{entries: map[string]*entry{}} }

// cleanDest turns a COPY destination into a rootfs path ("" is the root).
// Like Docker, it is relative to "/" and ".." cannot climb above it.
func cleanDest(dest string) string {
	return strings.TrimPrefix(path.Clean("/"+dest), "/")
}

func (r *rootfs) isDir(p string) bool {
	if p == "" {
		return true
	}
	e, ok := r.entries[p]
	return ok && e.typ == payload.TypeDir
}

// put places e at p, creating missing parent directories (0755). A directory
// put onto a directory merges (the mode given wins only when keepMode is
// false); anything else replaces what was at p, subtree included.
func (r *rootfs) put(p string, e *entry, keepMode bool) error {
	if err := payload.ValidPath(p); err != nil {
		return fmt.Errorf("%q cannot be stored in an installer (allowed: relative paths without \"..\", \"\\\" or NUL)", p)
	}
	if err := r.mkParents(p); err != nil {
		return err
	}
	old, ok := r.entries[p]
	if ok && old.typ == payload.TypeDir {
		if e.typ == payload.TypeDir {
			if !keepMode && old.mode != e.mode {
				old.mode, old.work = e.mode, nil
			}
			return nil
		}
		r.removeTree(p)
	}
	r.entries[p] = e
	return nil
}

func (r *rootfs) mkParents(p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		dir := p[:i]
		switch e, ok := r.entries[dir]; {
		case !ok:
			r.entries[dir] = &entry{typ: payload.TypeDir, mode: 0o755}
		case e.typ == payload.TypeSymlink:
			return fmt.Errorf("cannot create %s: %s is a symlink (to %s) in the image", p, dir, e.target)
		case e.typ != payload.TypeDir:
			return fmt.Errorf("cannot create %s: %s is a file in the image", p, dir)
		}
	}
	return nil
}

// removeTree drops everything below directory p (p itself stays).
func (r *rootfs) removeTree(p string) {
	prefix := p + "/"
	for k := range r.entries {
		if strings.HasPrefix(k, prefix) {
			delete(r.entries, k)
		}
	}
	delete(r.entries, p)
}

// paths returns every path, sorted: parents before children.
func (r *rootfs) paths() []string {
	out := make([]string, 0, len(r.entries))
	for p := range r.entries {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
