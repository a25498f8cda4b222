package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sealpack/sealpack/payload"
	"golang.org/x/sync/errgroup"
)

// PullResult says what a pull wrote.
type PullResult struct {
	Output   string
	Parts    []string // split parts written beside Output
	Platform string
	Digest   string // of the manifest pulled
	Bytes    int64  // layer bytes fetched
}

// Pull fetches the installer at ref for platform ("" as in Describe) into
// out, byte for byte as it was pushed; a split installer comes back as the
// same parts beside out. Each layer is checked against its digest as it is
// written, the result against the installer's digest; on any failure
// nothing is left at out.
func Pull(ctx context.Context, ref, out, platform string, o Options) (*PullResult, error) {
	a, err := Describe(ctx, ref, platform, o)
	if err != nil {
		return nil, err
	}
	_ = o.defaults()
	return a.WriteTo(ctx, out, o)
}

// placement says where a layer's bytes go: the file (index -1 for the
// installer, i for part i) and the offset there.
type placement struct {
	desc v1.Descriptor
	at   func(f []*os.File) io.WriterAt
}

// WriteTo fetches the artifact's layers into out (and its parts).
func (a *Artifact) WriteTo(ctx context.Context, out string, o Options) (*PullResult, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	plan, err := a.plan()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Ref, err)
	}
	in := a.Config.Installer
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".pulling")
	files, err := createFiles(tmp, in)
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, p := range plan {
		total += p.desc.Size
	}
	m := &meter{fn: o.OnProgress, total: total}
	m.add(0)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Jobs)
	for _, p := range plan {
		g.Go(func() error { return a.fetch(gctx, p, p.at(files), m) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res, err := a.commit(files, tmp, out)
	if err != nil {
		return nil, err
	}
	files = nil // renamed into place
	res.Bytes = total
	return res, nil
}

// plan checks the manifest's layers against the config's layout and says
// where each goes.
func (a *Artifact) plan() ([]placement, error) {
	ls, in := a.Manifest.Layers, a.Config.Installer
	if len(ls) < 2 || ls[0].MediaType != StubLayerType || ls[len(ls)-1].MediaType != IndexLayerType || ls[0].Size != in.StubSize {
		return nil, fmt.Errorf("%w: the layers are not stub, data..., index", ErrNotInstaller)
	}
	split := len(in.Parts) > 0
	var plan []placement
	plan = append(plan, placement{ls[0], func(f []*os.File) io.WriterAt { return f[0] }})
	var off int64
	for _, l := range ls[1 : len(ls)-1] {
		if l.MediaType != DataLayerType || l.Size < 0 {
			return nil, fmt.Errorf("%w: layer %s of type %s", ErrNotInstaller, l.Digest, l.MediaType)
		}
		at := off
		if split {
			plan = append(plan, placement{l, func(f []*os.File) io.WriterAt { return &partsWriter{files: f[1:], parts: in.Parts, base: at} }})
		} else {
			plan = append(plan, placement{l, func(f []*os.File) io.WriterAt { return offsetWriter{f[0], in.StubSize + at} }})
		}
		off += l.Size
	}
	if off != in.DataSize {
		return nil, fmt.Errorf("%w: data layers hold %d bytes, the config says %d", ErrNotInstaller, off, in.DataSize)
	}
	tailAt := in.StubSize
	if !split {
		tailAt += in.DataSize
	}
	if tail := ls[len(ls)-1]; tailAt+tail.Size != in.Size {
		return nil, fmt.Errorf("%w: the layers make %d bytes, the config says %d", ErrNotInstaller, tailAt+tail.Size, in.Size)
	}
	plan = append(plan, placement{ls[len(ls)-1], func(f []*os.File) io.WriterAt { return offsetWriter{f[0], tailAt} }})
	return plan, nil
}

// fetch copies one layer to w; the registry's stream fails at its end when
// the bytes do not match the digest, and a short or long one fails too.
func (a *Artifact) fetch(ctx context.Context, p placement, w io.WriterAt, m *meter) error {
	l, err := a.puller.Layer(ctx, a.Ref.Context().Digest(p.desc.Digest.String()))
	if err != nil {
		return fmt.Errorf("layer %s: %w", p.desc.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("layer %s: %w", p.desc.Digest, err)
	}
	defer rc.Close()
	var n int64
	cr := &countReader{r: &ctxReader{ctx, rc}, n: &n, m: m}
	if _, err := io.CopyBuffer(io.NewOffsetWriter(w, 0), io.LimitReader(cr, p.desc.Size), make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("layer %s (from %s): %w", p.desc.Digest, a.host, err)
	}
	// Read to the end: the digest is checked there, and extra bytes fail.
	if k, err := io.Copy(io.Discard, cr); err != nil || k > 0 || n != p.desc.Size {
		if err == nil {
			err = fmt.Errorf("registry sent %d bytes, the manifest says %d", n, p.desc.Size)
		}
		return fmt.Errorf("layer %s (from %s): %w", p.desc.Digest, a.host, err)
	}
	return nil
}

// createFiles creates the installer's and its parts' files at tmp, each
// part starting with its header.
func createFiles(tmp string, in Installer) ([]*os.File, error) {
	var files []*os.File
	for i := -1; i < len(in.Parts); i++ {
		name := tmp
		if i >= 0 {
			name += in.Parts[i].Suffix
		}
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o755)
		if err != nil {
			return files, err
		}
		files = append(files, f)
		if i >= 0 {
			if _, err := f.WriteAt(in.Parts[i].Header, 0); err != nil {
				return files, err
			}
		}
	}
	return files, nil
}

// commit checks what was written against the installer's digest and moves
// it into place, the parts before the installer.
func (a *Artifact) commit(files []*os.File, tmp, out string) (*PullResult, error) {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	r, err := payload.Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("pulled installer: %w", err)
	}
	got := r.Digest()
	r.Close()
	if got != a.Config.Installer.Digest {
		return nil, fmt.Errorf("pulled installer: digest %s, the artifact says %s", got, a.Config.Installer.Digest)
	}
	res := &PullResult{Output: out, Platform: a.Config.Platform(), Digest: a.Digest}
	for i, p := range a.Config.Installer.Parts {
		if err := os.Rename(files[i+1].Name(), out+p.Suffix); err != nil {
			return nil, err
		}
		res.Parts = append(res.Parts, out+p.Suffix)
	}
	if err := os.Rename(files[0].Name(), out); err != nil {
		return nil, err
	}
	for _, f := range files {
		f.Close()
	}
	return res, nil
}

type offsetWriter struct {
	f   *os.File
	off int64
}

func (w offsetWriter) WriteAt(p []byte, off int64) (int, error) { return w.f.WriteAt(p, w.off+off) }

// partsWriter writes data-area bytes from data offset base on into the
// split parts that hold them.
type partsWriter struct {
	files []*os.File
	parts []Part
	base  int64
}

func (w *partsWriter) WriteAt(p []byte, off int64) (int, error) {
	off += w.base
	n := 0
	var start int64
	for i, part := range w.parts {
		end := start + part.Size
		if len(p) > 0 && off < end {
			k := min(int64(len(p)), end-off)
			if _, err := w.files[i].WriteAt(p[:k], payload.PartHeaderSize+off-start); err != nil {
				return n, err
			}
			n, p, off = n+int(k), p[k:], off+k
		}
		start = end
	}
	if len(p) > 0 {
		return n, errors.New("write past the last part")
	}
	return n, nil
}
