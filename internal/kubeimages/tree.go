package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path"
	"strings"
)

// tree is the content of one layer: absolute paths in the image and what
// they hold. Directories are implied by what is put below them.
type tree map[string]node

type node struct {
	kind byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode int64  // permission bits (and sticky) for dirs and files
	src  string // the host file to copy, for tar.TypeReg
	link string // the target, verbatim, for tar.TypeSymlink
}

func (n node) String() string {
	switch n.kind {
	case tar.TypeDir:
		return fmt.Sprintf("a directory (mode %04o)", n.mode)
	case tar.TypeSymlink:
		return "a symlink to " + n.link
	}
	return fmt.Sprintf("a copy of %s (mode %04o)", n.src, n.mode)
}

var dirNode = node{kind: tar.TypeDir, mode: 0o755}

func (t tree) put(p string, n node) error {
	if old, ok := t[p]; ok && old != n {
		if old.kind == tar.TypeDir && n == dirNode {
			return nil // an explicit directory, such as /tmp, keeps its mode
		}
		return fmt.Errorf("%s would be both %s and %s", p, old, n)
	}
	t[p] = n
	return t.parents(p)
}

// parents records every directory above p.
func (t tree) parents(p string) error {
	if d := path.Dir(p); d != "/" {
		return t.put(d, dirNode)
	}
	return nil
}

// file puts the host file src at p in the image.
func (t tree) file(p, src string, mode int64) error {
	return t.put(p, node{kind: tar.TypeReg, mode: mode, src: src})
}

// host copies the host path p to the same path in the image, the way a
// process would find it: every symlink met on the way, in p itself or in a
// parent (Debian's /lib -> usr/lib), is kept as a symlink and its target is
// copied too, so the chain resolves inside the image as it does here.
func (t tree) host(p string) error {
	return t.hostDepth(path.Clean(p), 0)
}

func (t tree) hostDepth(p string, depth int) error {
	if depth > 40 {
		return fmt.Errorf("%s: too many levels of symbolic links", p)
	}
	if !path.IsAbs(p) {
		return fmt.Errorf("%s: not an absolute path", p)
	}
	cur := "/"
	for rest := p[1:]; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "/")
		next := path.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return err
		}
		switch m := fi.Mode(); {
		case m&os.ModeSymlink != 0:
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			if err := t.put(next, node{kind: tar.TypeSymlink, link: target}); err != nil {
				return err
			}
			if !path.IsAbs(target) {
				target = path.Join(cur, target) // cur holds no symlink: ".." is lexical
			}
			return t.hostDepth(path.Join(target, rest), depth+1)
		case m.IsDir():
			if err := t.put(next, dirNode); err != nil {
				return err
			}
			cur = next
		case m.IsRegular() && rest != "":
			return fmt.Errorf("%s: not a directory", next)
		case m.IsRegular():
			return t.file(next, next, int64(m.Perm()))
		default:
			return fmt.Errorf("%s: cannot copy a %s into an image", next, m.Type())
		}
	}
	return nil
}
