// Command demoregistry serves made-up container images on loopback, standing
// in for Docker Hub in `make demo` (the machines here have no internet): the
// demo build pulls through it with --registry-mirror docker.io=http://ADDR.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	addrFile := flag.String("addr-file", "", "write the address here once serving")
	flag.Parse()
	if err := run(*addr, *addrFile, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "demoregistry:", err)
		os.Exit(1)
	}
}

// run serves images named like docker.io/library/nginx:1.27 (given as
// arguments) under their Docker Hub paths, each a two-platform index.
func run(addr, addrFile string, refs []string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(ln)
	host := ln.Addr().String()
	for _, r := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			return err
		}
		dst, err := name.ParseReference(host+"/"+ref.Context().RepositoryStr()+":"+ref.Identifier(), name.Insecure)
		if err != nil {
			return err
		}
		idx, err := index(r)
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(dst, idx); err != nil {
			return fmt.Errorf("pushing %s: %w", r, err)
		}
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(host), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("serving %d images on %s\n", len(refs), host)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, os.Kill)
	defer stop()
	<-ctx.Done()
	return srv.Close()
}

func index(ref string) (v1.ImageIndex, error) {
	var idx v1.ImageIndex = empty.Index
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := image(ref, arch)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx, nil
}

// image is a small, reproducible image: one layer with a page naming it.
func image(ref, arch string) (v1.Image, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	page := fmt.Sprintf("<h1>%s for linux/%s</h1>\n%s", ref, arch, strings.Repeat("sealpack demo\n", 512))
	tw.WriteHeader(&tar.Header{Name: "usr/share/demo/index.html", Mode: 0o644, Size: int64(len(page))})
	tw.Write([]byte(page))
	tw.Close()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b.Bytes())
	zw.Close()
	layer := static.NewLayer(z.Bytes(), types.DockerLayer)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Config.Cmd = []string{"/bin/sh"}
	return mutate.ConfigFile(img, cfg)
}
