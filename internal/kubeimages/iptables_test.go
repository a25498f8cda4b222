package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sealpack/sealpack/internal/testreq"
)

// resolve follows symlinks inside an image's files, as a process in the
// container would, and returns the path of what p names.
func resolve(f map[string]entry, p string) (string, error) {
	for hops := 0; hops < 40; hops++ {
		cur := "/"
		parts := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
		moved := false
		for i, part := range parts {
			next := path.Join(cur, part)
			e, ok := f[next]
			if !ok {
				return "", fmt.Errorf("%s: %s is not in the image", p, next)
			}
			if e.hdr.Typeflag == tar.TypeSymlink {
				target := e.hdr.Linkname
				if !path.IsAbs(target) {
					target = path.Join(cur, target)
				}
				p, moved = path.Join(append([]string{target}, parts[i+1:]...)...), true
				break
			}
			cur = next
		}
		if !moved {
			return cur, nil
		}
	}
	return "", fmt.Errorf("%s: too many symlinks", p)
}

func TestIPTablesBundle(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/xtables-nft-multi"); err != nil {
		testreq.Skip(t, "the iptables bundle", "no /usr/sbin/xtables-nft-multi on this machine (make deps as root installs iptables)")
	}
	tr, err := iptablesTree()
	if err != nil {
		t.Fatal(err)
	}
	l, err := layer(tr)
	if err != nil {
		t.Fatal(err)
	}
	f := files(t, []v1.Layer{l})

	t.Run("contents", func(t *testing.T) {
		for _, w := range []struct {
			path string
			kind byte
		}{
			{"/usr/sbin/xtables-nft-multi", tar.TypeReg},
			{"/usr/sbin/iptables", tar.TypeSymlink},
			{"/usr/sbin/ip6tables-restore", tar.TypeSymlink},
			{xtablesDir + "/libxt_statistic.so", tar.TypeReg},
			{"/lib64", tar.TypeSymlink}, // Debian's merged /usr
		} {
			if e, ok := f[w.path]; !ok || e.hdr.Typeflag != w.kind {
				t.Errorf("%s: want type %c in the layer", w.path, w.kind)
			}
		}
		for _, p := range append(iptablesNeeded, "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libm.so.6") {
			if r, err := resolve(f, p); err != nil {
				t.Error(err)
			} else if f[r].hdr.Typeflag != tar.TypeReg {
				t.Errorf("%s resolves to %s, not a file", p, r)
			}
		}
		if r, _ := resolve(f, "/usr/sbin/iptables"); !strings.HasPrefix(path.Base(r), "xtables-") {
			t.Errorf("/usr/sbin/iptables resolves to %s", r)
		}
	})

	// Checked apart from ldd: every DT_NEEDED of every ELF file in the
	// layer, the libraries' own included, is in the loader's default path.
	t.Run("closure", func(t *testing.T) {
		var paths []string
		for p, e := range f {
			if e.hdr.Typeflag == tar.TypeSymlink {
				if _, err := resolve(f, p); err != nil {
					t.Errorf("dangling symlink: %v", err)
				}
			}
			if e.hdr.Typeflag == tar.TypeReg && bytes.HasPrefix(e.data, []byte(elf.ELFMAG)) {
				paths = append(paths, p)
			}
			if d := path.Dir(p); d != "/" && f[d].hdr.Typeflag != tar.TypeDir {
				t.Errorf("%s lies below %s, which is no directory entry", p, d)
			}
		}
		sort.Strings(paths)
		for _, p := range paths {
			ef, err := elf.NewFile(bytes.NewReader(f[p].data))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			needed, _ := ef.ImportedLibraries()
			for _, so := range needed {
				if _, err := resolve(f, "/lib/x86_64-linux-gnu/"+so); err != nil {
					t.Errorf("%s needs %s: %v", p, so, err)
				}
			}
		}
		if len(paths) < 10 {
			t.Errorf("only %d ELF files in the layer", len(paths))
		}
	})

	// The real proof: run the bundle in a root of its own. A missing libm
	// shows as "Couldn't load match `statistic'".
	t.Run("runs", func(t *testing.T) {
		if os.Geteuid() != 0 {
			testreq.Skip(t, "running the iptables bundle in a chroot", "needs root")
		}
		root := t.TempDir()
		extract(t, f, root)
		for _, args := range [][]string{
			{"/usr/sbin/iptables", "-m", "statistic", "-h"},
			{"/usr/sbin/ip6tables", "-m", "statistic", "-h"},
			{"/usr/sbin/iptables-restore", "--version"},
		} {
			out, err := exec.Command("chroot", append([]string{root}, args...)...).CombinedOutput()
			if err != nil {
				t.Errorf("chroot %s: %v\n%s", strings.Join(args, " "), err, out)
			} else if args[1] == "-m" && !bytes.Contains(out, []byte("statistic match options")) {
				t.Errorf("%s: no statistic match help:\n%s", strings.Join(args, " "), out)
			}
		}
	})
}

func extract(t *testing.T, f map[string]entry, root string) {
	t.Helper()
	paths := make([]string, 0, len(f))
	for p := range f {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e, dst := f[p], filepath.Join(root, p)
		var err error
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o755)
		case tar.TypeReg:
			err = os.WriteFile(dst, e.data, os.FileMode(e.hdr.Mode))
		case tar.TypeSymlink:
			err = os.Symlink(e.hdr.Linkname, dst)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTreeHost copies host paths through symlinks, the way Debian's /lib
// and /etc/alternatives chains look.
func TestTreeHost(t *testing.T) {
	d := t.TempDir()
	mk := func(p, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(d, p)), 0o755)
		os.WriteFile(filepath.Join(d, p), []byte(content), 0o644)
	}
	ln := func(p, target string) {
		os.MkdirAll(filepath.Dir(filepath.Join(d, p)), 0o755)
		os.Symlink(strings.ReplaceAll(target, "ROOT", d), filepath.Join(d, p))
	}
	mk("usr/lib/libc.so.6", "libc")
	ln("lib", "usr/lib")
	mk("usr/sbin/multi", "multi")
	ln("usr/sbin/tool", "ROOT/etc/alt/tool")
	ln("etc/alt/tool", "ROOT/usr/sbin/tool-nft")
	ln("usr/sbin/tool-nft", "multi")
	ln("loop/a", "b")
	ln("loop/b", "a")

	tests := []struct {
		path string
		want map[string]string // path below d -> "dir", "file" or "-> target"
		err  string
	}{
		{"lib/libc.so.6", map[string]string{"lib": "-> usr/lib", "usr": "dir", "usr/lib": "dir", "usr/lib/libc.so.6": "file"}, ""},
		{"usr/sbin/tool", map[string]string{
			"usr/sbin/tool": "-> ROOT/etc/alt/tool", "etc/alt/tool": "-> ROOT/usr/sbin/tool-nft",
			"usr/sbin/tool-nft": "-> multi", "usr/sbin/multi": "file", "etc/alt": "dir",
		}, ""},
		{"loop/a", nil, "too many levels of symbolic links"},
		{"usr/sbin/absent", nil, "no such file"},
		{"usr/lib/libc.so.6/x", nil, "not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			tr := tree{}
			err := tr.host(filepath.Join(d, tc.path))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, w := range tc.want {
				n, ok := tr[filepath.Join(d, p)]
				var got string
				switch {
				case !ok:
					got = "absent"
				case n.kind == tar.TypeDir:
					got = "dir"
				case n.kind == tar.TypeReg:
					got = "file"
				default:
					got = "-> " + strings.ReplaceAll(n.link, d, "ROOT")
				}
				if got != w {
					t.Errorf("%s: %s, want %s", p, got, w)
				}
			}
		})
	}
}
