// Command kubeimages builds the container images a kubeadm Kubernetes base
// needs (kube-apiserver, etcd, CoreDNS, pause, flannel, ...) from local
// static binaries, and serves them under their official names on a loopback
// registry. The build machine cannot reach registry.k8s.io or ghcr.io, so
// bases/kubernetes is built with
//
//	sealpack build --registry-mirror registry.k8s.io=http://ADDR --registry-mirror ghcr.io=http://ADDR
//
// Usage:
//
//	kubeimages -bin DIR -versions FILE [-addr 127.0.0.1:0] [-addr-file PATH] [-oci DIR]
//
// Once serving, it prints the official image names, one a line (an
// images.txt), writes the address to -addr-file and serves until SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/google/go-containerregistry/pkg/registry"
)

type options struct {
	bin, versions, addr, addrFile, oci string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "directory of the static binaries (kube-apiserver, etcd, coredns, pause, flannel, ...)")
	flag.StringVar(&o.versions, "versions", "", "env file with KUBE_VERSION, ETCD_IMAGE_TAG, COREDNS_VERSION, PAUSE_VERSION, FLANNEL_VERSION")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to serve the registry on")
	flag.StringVar(&o.addrFile, "addr-file", "", "write the registry's address here once serving")
	flag.StringVar(&o.oci, "oci", "", "also write the images as an OCI image layout in this directory")
	flag.Parse()
	if o.bin == "" || o.versions == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: kubeimages -bin DIR -versions FILE [-addr 127.0.0.1:0] [-addr-file PATH] [-oci DIR]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kubeimages:", err)
		os.Exit(1)
	}
}

// run builds, serves until ctx ends, and says on stderr when it serves.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	versions, err := readVersions(o.versions)
	if err != nil {
		return err
	}
	imgs, err := buildAll(o.bin, versions, stderr)
	if err != nil {
		return err
	}
	if o.oci != "" {
		if err := writeLayout(o.oci, imgs); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	var sealed atomic.Bool
	srv := &http.Server{Handler: readOnly(registry.New(registry.Logger(log.New(io.Discard, "", 0))), &sealed)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Close()
	host := ln.Addr().String()
	if err := push(host, imgs); err != nil {
		return err
	}
	sealed.Store(true)
	for _, b := range imgs {
		fmt.Fprintln(stdout, b.name())
	}
	if o.addrFile != "" {
		if err := writeAddr(o.addrFile, host); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "kubeimages: serving %d images on %s\n", len(imgs), host)
	select {
	case <-ctx.Done():
		return nil
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serving: %w", err)
	}
}
