package packer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/sealpack/sealpack/packer/sbom"
	"github.com/sealpack/sealpack/payload"
)

// billName names the bill's source in the Writer's messages; the bill is a
// blob of the payload (Index.SBOM), not a file of the rootfs.
const billName = "bill of materials"

// bill makes the installer's bill of materials from what meta will commit
// and adds it to w, returning its digest ("" with BuildOptions.NoSBOM).
func (b *builder) bill(ctx context.Context, w *payload.Writer, meta payload.Meta) (string, error) {
	if b.opts.NoSBOM {
		return "", nil
	}
	// A document is read from the image step's memory, else from where the
	// rootfs entry that holds it is (the FROM installer, an image directory).
	paths := map[string]string{}
	for _, f := range meta.Files {
		if _, ok := paths[f.Digest]; f.Type == payload.TypeFile && !ok {
			paths[f.Digest] = f.Path
		}
	}
	read := func(d string) ([]byte, error) {
		if data, ok := b.docs[d]; ok {
			return data, nil
		}
		p, ok := paths[d]
		if !ok {
			return nil, fmt.Errorf("%s is not in the rootfs", d)
		}
		return fs.ReadFile(b.fsys(), p)
	}
	return addBill(ctx, w, b.log, meta, read)
}

// addBill makes the bill of what meta will commit, reading the documents it
// lists through read, and adds it to w.
func addBill(ctx context.Context, w *payload.Writer, log io.Writer, meta payload.Meta, read func(digest string) ([]byte, error)) (string, error) {
	start := time.Now()
	data, err := sbom.Build(sbom.Input{Name: "sealpack installer", Platform: meta.Platform, Labels: meta.Labels,
		Files: meta.Files, Images: meta.Images, Read: read})
	if err != nil {
		return "", err
	}
	src := payload.Source{Name: billName, Compress: payload.Auto,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	digests, err := w.Add(ctx, []payload.Source{src})
	if err != nil {
		return "", fmt.Errorf("storing the %s: %w", billName, err)
	}
	fmt.Fprintf(log, "bill of materials: CycloneDX 1.5, %d files, %d images, %s, in %s\n",
		countFiles(meta.Files), len(meta.Images), payload.HumanBytes(int64(len(data))), time.Since(start).Round(time.Millisecond))
	return digests[0], nil
}

// countFiles counts the entries the bill lists: regular files and symlinks.
func countFiles(files []payload.File) int {
	n := 0
	for _, f := range files {
		if f.Type != payload.TypeDir {
			n++
		}
	}
	return n
}
