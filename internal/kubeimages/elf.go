package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// checkBinary says why the file at path cannot be the program of a
// linux/amd64 image. It reports whether the program is dynamically linked.
func checkBinary(path string) (dynamic bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, errors.New("which is missing")
	case err != nil:
		return false, err
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("which is not a regular file (%s)", fi.Mode().Type())
	case fi.Mode().Perm()&0o111 == 0:
		return false, fmt.Errorf("which is not executable (mode %04o)", fi.Mode().Perm())
	}
	info, err := readELF(path)
	if err != nil {
		return false, fmt.Errorf("which is not a linux/amd64 executable: %w", err)
	}
	return info.dynamic(), nil
}

// elfInfo is what decides which libraries a file loads.
type elfInfo struct {
	interp          string
	needed, rpath   []string
	runpath, origin string
}

func (e *elfInfo) dynamic() bool { return e.interp != "" || len(e.needed) > 0 }

// key is equal for files whose library closure ldd finds identical.
func (e *elfInfo) key() string {
	return strings.Join([]string{e.interp, strings.Join(e.needed, ","), strings.Join(e.rpath, ","), e.runpath, e.origin}, "|")
}

// readELF reads an x86-64 ELF file's dynamic linking needs; any other file
// is an error, since every image here is linux/amd64.
func readELF(path string) (*elfInfo, error) {
	f, err := elf.Open(path)
	if err != nil {
		head := make([]byte, 16)
		if r, oerr := os.Open(path); oerr == nil {
			n, _ := r.Read(head)
			r.Close()
			if head = head[:n]; !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
				return nil, fmt.Errorf("not an ELF file (it starts with %q)", head)
			}
		}
		return nil, err
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("an ELF file for %s, not x86-64", f.Machine)
	}
	info := &elfInfo{origin: filepath.Dir(path)}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("reading its interpreter: %w", err)
			}
			info.interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	if info.needed, err = f.ImportedLibraries(); err != nil {
		return nil, err
	}
	rp, _ := f.DynString(elf.DT_RPATH)
	run, _ := f.DynString(elf.DT_RUNPATH)
	info.rpath, info.runpath = rp, strings.Join(run, ":")
	return info, nil
}

// libraries returns the shared libraries (and dynamic loader) the given ELF
// files load, as ldd finds them on this machine. ldd is slow here (it runs
// the loader once per file, about 50 ms on a busy machine, and iptables has
// over a hundred extension modules), so it runs once per distinct set of
// linking needs: files with the same DT_NEEDED, interpreter and search
// paths load the same closure.
func libraries(paths []string) ([]string, error) {
	seen := map[string]bool{}
	var libs []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			libs = append(libs, p)
		}
	}
	done := map[string]bool{}
	for _, p := range paths {
		info, err := readELF(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !info.dynamic() || done[info.key()] {
			continue
		}
		done[info.key()] = true
		if info.interp != "" {
			add(info.interp)
		}
		found, err := ldd(p)
		if err != nil {
			return nil, err
		}
		for _, l := range found {
			add(l)
		}
	}
	sort.Strings(libs)
	return libs, nil
}

func ldd(path string) ([]string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("ldd", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w: %s%s", path, err, out, stderr.Bytes())
	}
	return parseLdd(path, string(out))
}

// parseLdd reads lines like "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6
// (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
func parseLdd(path, out string) ([]string, error) {
	var libs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
			return nil, fmt.Errorf("ldd %s: %s not found on this machine", path, f[0])
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	return libs, nil
}
