package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the time of every file, layer and config, so that the same inputs
// give the same digests on any machine and any day.
var epoch = time.Unix(0, 0).UTC()

// layer writes t as a gzip-compressed tar in memory, sorted by path (so
// parents come before children), owned by root, every mtime at epoch.
func layer(t tree) (v1.Layer, error) {
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	paths := make([]string, 0, len(t))
	for p := range t {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := writeEntry(tw, p, t[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := z.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

func writeEntry(tw *tar.Writer, p string, n node) error {
	h := &tar.Header{Typeflag: n.kind, Name: strings.TrimPrefix(p, "/"), Mode: n.mode, ModTime: epoch, Linkname: n.link}
	switch n.kind {
	case tar.TypeDir:
		h.Name += "/"
	case tar.TypeSymlink:
		h.Mode = 0o777
	case tar.TypeReg:
		f, err := os.Open(n.src)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		h.Size = fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if _, err := io.CopyN(tw, f, h.Size); err != nil {
			return fmt.Errorf("copying %s into the layer as %s: %w", n.src, p, err)
		}
		return nil
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
