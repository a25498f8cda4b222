package packer

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/sealpack/sealpack/payload"
)

// write stores the rootfs after the stub and commits the installer. Order:
// blobs of the FROM installer (copied as stored), then the image step, then
// every other file in one Add, which compresses in parallel. Entries are
// sorted by path, so the same inputs give the same bytes.
func (b *builder) write(ctx context.Context, w *payload.Writer) (*Result, error) {
	for _, p := range b.root.paths() {
		if e := b.root.entries[p]; e.typ == payload.TypeFile && e.blob != "" {
			if err := w.AddStored(ctx, b.base, e.blob); err != nil {
				return nil, fmt.Errorf("copying %s from the FROM installer: %w", p, err)
			}
		}
	}
	images, err := b.images(ctx, w)
	if err != nil {
		return nil, err
	}

	paths := b.root.paths()
	var srcs []payload.Source
	var owners []*entry
	var total int64
	for _, p := range paths {
		e := b.root.entries[p]
		if e.typ != payload.TypeFile || e.blob != "" || e.stored != "" {
			continue
		}
		compress := payload.Auto
		if payload.IsCompressed(p) {
			compress = payload.Never
		}
		srcs = append(srcs, payload.Source{Name: e.src, Open: counted(e, b.opts.Progress), Compress: compress})
		owners = append(owners, e)
		total += e.size
	}
	if b.opts.Progress != nil {
		b.opts.Progress(0, total)
	}
	fmt.Fprintf(b.log, "writing %s (%s): %d files to compress, %d stored from the base\n", b.opts.Output, b.opts.Platform, len(srcs), b.countBlobs())
	digests, err := w.Add(ctx, srcs)
	if err != nil {
		return nil, err
	}
	for i, e := range owners {
		e.stored = digests[i]
	}

	meta := payload.Meta{Platform: b.opts.Platform, Labels: b.labels, Env: b.env, Cmds: b.cmds, Images: images}
	var content int64
	for _, p := range paths {
		e := b.root.entries[p]
		f := payload.File{Path: p, Type: e.typ, Mode: e.mode.Perm()}
		switch e.typ {
		case payload.TypeFile:
			f.Size, f.Digest = e.size, e.stored
			if e.blob != "" {
				f.Digest = e.blob
			}
			content += e.size
		case payload.TypeSymlink:
			f.Target = e.target
		}
		meta.Files = append(meta.Files, f)
	}
	meta.Apps, meta.Launch = b.appsMeta(meta.Files)
	if len(meta.Labels) == 0 {
		meta.Labels = nil
	}
	if meta.SBOM, err = b.bill(ctx, w, meta); err != nil {
		return nil, err
	}
	if err := w.Commit(meta); err != nil {
		return nil, err
	}
	res := &Result{Output: b.opts.Output, Platform: b.opts.Platform, Files: len(meta.Files), ContentBytes: content,
		Labels: meta.Labels, Cmds: meta.Cmds, Images: images, PayloadBytes: w.PayloadBytes()}
	for _, p := range w.Parts() {
		res.Parts = append(res.Parts, b.opts.Output+p.Suffix)
	}
	return res, nil
}

// startStub has the Writer copy the installer program while the Kubefile
// runs and the rootfs is compressed: its size is known before it is read.
func (b *builder) startStub(w *payload.Writer) error {
	return startStub(w, b.opts.Stub, b.opts.Platform)
}

func (b *builder) countBlobs() int {
	n := 0
	for _, e := range b.root.entries {
		if e.blob != "" {
			n++
		}
	}
	return n
}

// counted opens an entry's file and records how many bytes were read, so the
// index holds the size of what was stored even if the file changed meanwhile.
// counted opens e's source, counting what is read into e.size (the file
// may have changed since it was seen) and reporting it to progress.
func counted(e *entry, progress func(done, total int64)) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(e.src)
		if err != nil {
			return nil, err
		}
		e.size = 0
		return &countingReader{f: f, n: &e.size, progress: progress}, nil
	}
}

type countingReader struct {
	f        *os.File
	n        *int64
	progress func(done, total int64) // done is a delta here; total 0
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	*c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(int64(n), 0)
	}
	return n, err
}

func (c *countingReader) Close() error { return c.f.Close() }

// images runs the image step, or keeps the FROM installer's images.
func (b *builder) images(ctx context.Context, w *payload.Writer) ([]payload.Image, error) {
	if b.opts.Images == nil {
		if len(b.lines) > 0 {
			fmt.Fprintf(b.log, "warning: %s: this build has no image step: the images of %d IMAGE reference(s) are not carried\n", b.name, len(b.lines))
		}
		return b.inherited, nil
	}
	req := ImageRequest{
		Rootfs: b.fsys(), Lines: b.lines, Inherited: b.inherited, Platform: b.opts.Platform, Writer: w, Log: b.log,
		Materialize: b.materialize,
	}
	res, err := b.opts.Images(ctx, req)
	if err != nil {
		return nil, err
	}
	b.docs = res.Docs
	files := append([]payload.File(nil), res.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		e := &entry{typ: f.Type, mode: f.Mode.Perm(), size: f.Size, target: f.Target}
		if f.Type == payload.TypeFile {
			if !w.Has(f.Digest) {
				return nil, fmt.Errorf("image step: file %s refers to blob %s that was not added", f.Path, f.Digest)
			}
			e.stored = f.Digest
		}
		if err := b.root.put(f.Path, e, false); err != nil {
			return nil, fmt.Errorf("image step: %w", err)
		}
	}
	return res.Images, nil
}
