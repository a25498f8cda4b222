package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fakeELF is a tiny static x86-64 program that exits 0; tag follows the
// code, so each fake is told apart by its bytes. A copy of /bin/true would
// be dynamic and drag libc into every image, which is slow to compress.
func fakeELF(tag string) []byte {
	const base = 0x400000
	code := []byte{0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05} // mov eax,60 (exit); xor edi,edi; syscall
	hdr, prog := binary.Size(elf.Header64{}), binary.Size(elf.Prog64{})
	size := uint64(hdr + prog + len(code) + len(tag))
	var b bytes.Buffer
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Entry: base + uint64(hdr+prog), Phoff: uint64(hdr), Ehsize: uint16(hdr), Phentsize: uint16(prog), Phnum: 1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.Write(&b, binary.LittleEndian, h)
	binary.Write(&b, binary.LittleEndian, elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Vaddr: base, Paddr: base, Filesz: size, Memsz: size, Align: 0x1000,
	})
	b.Write(code)
	b.WriteString(tag)
	return b.Bytes()
}

// fakeBin is a -bin DIR with a fake program under every name.
func fakeBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range specs {
		if err := os.WriteFile(filepath.Join(dir, s.bin), fakeELF(s.bin), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var testVersions = map[string]string{
	"KUBE_VERSION": "v1.34.3", "ETCD_IMAGE_TAG": "3.6.5-0", "COREDNS_VERSION": "v1.12.1",
	"PAUSE_VERSION": "3.10.1", "FLANNEL_VERSION": "v0.28.4",
}

const testVersionsFile = `# as in bases/kubernetes/versions.env
KUBE_VERSION=v1.34.3
ETCD_VERSION=3.6.5
ETCD_IMAGE_TAG=3.6.5-0
COREDNS_VERSION=v1.12.1
PAUSE_VERSION=3.10.1
FLANNEL_VERSION=v0.28.4
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// entry is one file of an image's layers.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// files reads every layer of img, lower layers first, by path.
func files(t *testing.T, layers []v1.Layer) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Clean("/"+h.Name)] = entry{h, data}
		}
		rc.Close()
	}
	return out
}

// TestFakeELF: the fakes are real programs, so the checks they pass mean
// something.
func TestFakeELF(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fake")
	if err := os.WriteFile(p, fakeELF("fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	if dynamic, err := checkBinary(p); err != nil || dynamic {
		t.Fatalf("checkBinary: dynamic %v, %v", dynamic, err)
	}
	if out, err := exec.Command(p).CombinedOutput(); err != nil {
		t.Fatalf("running the fake: %v %s", err, out)
	}
}
