package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestServe runs the command as a user would and pulls every image back.
func TestServe(t *testing.T) {
	needIPTables(t)
	bin := fakeBin(t)
	versions := writeFile(t, "versions.env", testVersionsFile)
	addrFile := filepath.Join(t.TempDir(), "addr")
	oci := filepath.Join(t.TempDir(), "oci")

	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{bin: bin, versions: versions, addr: "127.0.0.1:0", addrFile: addrFile, oci: oci}, outW, errW)
		outW.Close()
		errW.Close()
	}()
	defer func() {
		cancel()
		go io.Copy(io.Discard, outR)
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	stderr := make(chan string, 64)
	go func() {
		for sc := bufio.NewScanner(errR); sc.Scan(); {
			stderr <- sc.Text()
		}
		close(stderr)
	}()
	var names []string
	for sc := bufio.NewScanner(outR); len(names) < len(specs) && sc.Scan(); {
		names = append(names, sc.Text())
	}
	// The address file is written before the "serving" line.
	serving := false
	for line := range stderr {
		if serving = strings.Contains(line, "kubeimages: serving"); serving {
			break
		}
		t.Log(line)
	}
	if !serving {
		cancel()
		t.Fatalf("run stopped before serving: %v", <-done)
	}
	want := []string{
		"registry.k8s.io/kube-apiserver:v1.34.3", "registry.k8s.io/kube-controller-manager:v1.34.3",
		"registry.k8s.io/kube-scheduler:v1.34.3", "registry.k8s.io/kube-proxy:v1.34.3",
		"registry.k8s.io/etcd:3.6.5-0", "registry.k8s.io/coredns/coredns:v1.12.1",
		"registry.k8s.io/pause:3.10.1", "ghcr.io/flannel-io/flannel:v0.28.4",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("stdout:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	addr, err := os.ReadFile(addrFile)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, err := net.SplitHostPort(string(addr)); err != nil || h != "127.0.0.1" {
		t.Fatalf("address file holds %q, want 127.0.0.1:PORT", addr)
	}

	tests := []struct {
		path, bin, dest string
		entrypoint      []string
		iptables        bool
	}{
		{"kube-apiserver:v1.34.3", "kube-apiserver", "/usr/local/bin/kube-apiserver", nil, false},
		{"kube-controller-manager:v1.34.3", "kube-controller-manager", "/usr/local/bin/kube-controller-manager", nil, false},
		{"kube-scheduler:v1.34.3", "kube-scheduler", "/usr/local/bin/kube-scheduler", nil, false},
		{"kube-proxy:v1.34.3", "kube-proxy", "/usr/local/bin/kube-proxy", nil, true},
		{"etcd:3.6.5-0", "etcd", "/usr/local/bin/etcd", nil, false},
		{"coredns/coredns:v1.12.1", "coredns", "/coredns", []string{"/coredns"}, false},
		{"pause:3.10.1", "pause", "/pause", []string{"/pause"}, false},
		{"flannel-io/flannel:v0.28.4", "flannel", "/opt/bin/flanneld", []string{"/opt/bin/flanneld"}, true},
	}
	layouts := map[string]string{} // official name -> digest in the OCI layout
	idx, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != "amd64" {
			t.Errorf("OCI layout: %s has platform %v", d.Annotations["org.opencontainers.image.ref.name"], d.Platform)
		}
		layouts[d.Annotations["org.opencontainers.image.ref.name"]] = d.Digest.String()
	}
	if len(layouts) != len(want) {
		t.Errorf("OCI layout names %v, want %v", layouts, want)
	}
	layerOf := map[string]string{} // the iptables layer's digest, by image
	for i, tc := range tests {
		t.Run(tc.bin, func(t *testing.T) {
			ref, err := name.ParseReference(string(addr)+"/"+tc.path, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(ref)
			if err != nil {
				t.Fatal(err)
			}
			if desc.MediaType != types.OCIManifestSchema1 {
				t.Errorf("media type %s, want a single image manifest", desc.MediaType)
			}
			if got := layouts[want[i]]; got != desc.Digest.String() {
				t.Errorf("OCI layout has %s as %s, the registry serves %s", want[i], got, desc.Digest)
			}
			img, err := desc.Image()
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OS != "linux" || cfg.Architecture != "amd64" {
				t.Errorf("platform %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
			}
			if !slices.Equal(cfg.Config.Entrypoint, tc.entrypoint) || len(cfg.Config.Cmd) != 0 {
				t.Errorf("entrypoint %q cmd %q, want entrypoint %q and no cmd", cfg.Config.Entrypoint, cfg.Config.Cmd, tc.entrypoint)
			}
			if !slices.Equal(cfg.Config.Env, []string{pathEnv}) {
				t.Errorf("env %q, want %q", cfg.Config.Env, pathEnv)
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			f := files(t, layers)
			prog, ok := f[tc.dest]
			switch {
			case !ok:
				t.Fatalf("no %s in the image", tc.dest)
			case prog.hdr.Typeflag != tar.TypeReg || prog.hdr.Mode != 0o755 || prog.hdr.Uid != 0 || prog.hdr.ModTime.Unix() != 0:
				t.Errorf("%s: type %c mode %o uid %d mtime %v, want a 0755 file of root at epoch", tc.dest, prog.hdr.Typeflag, prog.hdr.Mode, prog.hdr.Uid, prog.hdr.ModTime)
			case !bytes.Equal(prog.data, fakeELF(tc.bin)):
				t.Errorf("%s is not the -bin DIR's %s", tc.dest, tc.bin)
			}
			if tmp := f["/tmp"]; tmp.hdr == nil || tmp.hdr.Mode != 0o1777 {
				t.Errorf("/tmp: %+v, want a 1777 directory", tmp.hdr)
			}
			if _, ok := f["/usr/sbin/xtables-nft-multi"]; ok != tc.iptables {
				t.Errorf("iptables in the image: %v, want %v", ok, tc.iptables)
			}
			if tc.iptables {
				d, _ := layers[1].Digest()
				layerOf[tc.bin] = d.String()
			}
		})
	}
	if layerOf["kube-proxy"] != layerOf["flannel"] {
		t.Errorf("kube-proxy and flannel carry different iptables layers: %v", layerOf)
	}

	// Nobody but kubeimages writes to its registry.
	ref, _ := name.ParseReference(string(addr)+"/intruder:latest", name.Insecure)
	if err := remote.Write(ref, empty.Image); err == nil {
		t.Error("the registry took a push")
	}
}
