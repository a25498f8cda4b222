package main

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sealpack/sealpack/internal/testreq"
)

func needIPTables(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/xtables-nft-multi"); err != nil {
		testreq.Skip(t, "kube-proxy's and flannel's images", "no /usr/sbin/xtables-nft-multi on this machine (make deps as root installs iptables)")
	}
}

// TestReproducible builds twice, from copies with other paths and mtimes.
func TestReproducible(t *testing.T) {
	needIPTables(t)
	var digests [2][]string
	for i := range digests {
		imgs, err := buildAll(fakeBin(t), testVersions, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range imgs {
			d, err := b.img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			digests[i] = append(digests[i], b.name()+"@"+d.String())
		}
	}
	if !slices.Equal(digests[0], digests[1]) {
		t.Errorf("two builds differ:\n%s\n%s", strings.Join(digests[0], "\n"), strings.Join(digests[1], "\n"))
	}
}

// TestBuildErrors checks that a bad input is named, with the image needing it.
func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		mess func(t *testing.T, bin string, versions map[string]string)
		want []string
	}{
		{"missing binary", func(t *testing.T, bin string, _ map[string]string) {
			os.Remove(filepath.Join(bin, "etcd"))
		}, []string{"registry.k8s.io/etcd:3.6.5-0 needs ", "/etcd, which is missing"}},
		{"two missing binaries", func(t *testing.T, bin string, _ map[string]string) {
			os.Remove(filepath.Join(bin, "pause"))
			os.Remove(filepath.Join(bin, "flannel"))
		}, []string{"registry.k8s.io/pause:3.10.1 needs ", "ghcr.io/flannel-io/flannel:v0.28.4 needs ", "/flannel, which is missing"}},
		{"not executable", func(t *testing.T, bin string, _ map[string]string) {
			os.Chmod(filepath.Join(bin, "kube-scheduler"), 0o644)
		}, []string{"registry.k8s.io/kube-scheduler:v1.34.3 needs ", "/kube-scheduler, which is not executable (mode 0644)"}},
		{"not ELF", func(t *testing.T, bin string, _ map[string]string) {
			os.WriteFile(filepath.Join(bin, "coredns"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
		}, []string{"registry.k8s.io/coredns/coredns:v1.12.1 needs ", "/coredns, which is not a linux/amd64 executable: not an ELF file"}},
		{"other architecture", func(t *testing.T, bin string, _ map[string]string) {
			b := fakeELF("arm")
			b[18] = 183 // e_machine: EM_AARCH64
			os.WriteFile(filepath.Join(bin, "kube-proxy"), b, 0o755)
		}, []string{"registry.k8s.io/kube-proxy:v1.34.3 needs ", "EM_AARCH64, not x86-64"}},
		{"directory", func(t *testing.T, bin string, _ map[string]string) {
			os.Remove(filepath.Join(bin, "etcd"))
			os.Mkdir(filepath.Join(bin, "etcd"), 0o755)
		}, []string{"registry.k8s.io/etcd:3.6.5-0 needs ", "not a regular file"}},
		{"missing version", func(t *testing.T, _ string, v map[string]string) {
			delete(v, "PAUSE_VERSION")
		}, []string{"no PAUSE_VERSION (the tag of registry.k8s.io/pause)"}},
		{"bad tag", func(t *testing.T, _ string, v map[string]string) {
			v["KUBE_VERSION"] = "v1.34.3+k3s1"
		}, []string{"KUBE_VERSION=v1.34.3+k3s1 does not make an image name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := fakeBin(t)
			versions := maps.Clone(testVersions)
			tc.mess(t, bin, versions)
			_, err := buildAll(bin, versions, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestDynamicProgram: a program that is not static brings its libraries.
func TestDynamicProgram(t *testing.T) {
	bin := t.TempDir()
	true_, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to stand in for a dynamic program")
	}
	os.WriteFile(filepath.Join(bin, "pause"), true_, 0o755)
	var warn bytes.Buffer
	l, err := programLayer(bin, specNamed(t, "pause"), true, &warn)
	if err != nil {
		t.Fatal(err)
	}
	f := files(t, []v1.Layer{l})
	if _, ok := f["/pause"]; !ok {
		t.Error("no /pause")
	}
	for _, lib := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"} {
		if p, err := resolve(f, lib); err != nil {
			t.Error(err)
		} else if f[p].hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s resolves to %s, not a file", lib, p)
		}
	}
	if !strings.Contains(warn.String(), "dynamically linked") {
		t.Errorf("no warning, got %q", warn.String())
	}
}

func specNamed(t *testing.T, bin string) spec {
	for _, s := range specs {
		if s.bin == bin {
			return s
		}
	}
	t.Fatalf("no image of %s", bin)
	return spec{}
}
