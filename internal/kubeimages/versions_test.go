package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadVersions(t *testing.T) {
	tests := []struct {
		name, file string
		want       map[string]string
		err        string
	}{
		{"versions.env", testVersionsFile, map[string]string{
			"KUBE_VERSION": "v1.34.3", "ETCD_VERSION": "3.6.5", "ETCD_IMAGE_TAG": "3.6.5-0",
			"COREDNS_VERSION": "v1.12.1", "PAUSE_VERSION": "3.10.1", "FLANNEL_VERSION": "v0.28.4",
		}, ""},
		{"shell forms", "export A=\"v1 2\" # quoted\r\n  B='x'\n\nC=y   # pinned\nD=\n#E=no\n", map[string]string{"A": "v1 2", "B": "x", "C": "y", "D": ""}, ""},
		{"no assignment", "# versions\nKUBE_VERSION v1.34.3\n", nil, ":2: want KEY=VALUE"},
		{"bad key", "1X=y\n", nil, ":1: want KEY=VALUE"},
		{"open quote", "A=\"v1\n", nil, ":1: A: unterminated quote"},
		{"two words", "A=v1 v2\n", nil, `:1: A: unexpected "v2"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readVersions(writeFile(t, "versions.env", tc.file))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := readVersions(filepath.Join(t.TempDir(), "absent.env")); err == nil || !strings.Contains(err.Error(), "absent.env") {
		t.Errorf("a missing file: %v", err)
	}
}

func TestParseLdd(t *testing.T) {
	tests := []struct {
		name, out string
		want      []string
		err       string
	}{
		{"libs", "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f45)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f45)\n",
			[]string{"/lib/x86_64-linux-gnu/libm.so.6", "/lib64/ld-linux-x86-64.so.2"}, ""},
		{"vdso without file", "\tlinux-vdso.so.1 =>  (0x00007ffd)\n", nil, ""},
		{"missing", "\tlibnope.so.1 => not found\n", nil, "libnope.so.1 not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLdd("/x", tc.out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestWriteAddr(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "addr")
	for _, addr := range []string{"127.0.0.1:40001", "127.0.0.1:5"} {
		if err := writeAddr(p, addr); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != addr {
			t.Errorf("read %q %v, want %q", b, err, addr)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	if err := writeAddr(filepath.Join(dir, "no", "addr"), "x"); err == nil || !strings.Contains(err.Error(), "writing the address") {
		t.Errorf("unwritable: %v", err)
	}
}
