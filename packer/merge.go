package packer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/sealpack/sealpack/payload"
)

// MergeOptions configure one Merge.
type MergeOptions struct {
	Inputs    []string // installers, in the order their CMD lines run
	Output    string
	SplitSize int64
	// Stub returns the installer program for a platform: the merged
	// installer runs this sealpack's program, as a build would.
	Stub     func(platform string) (io.ReadCloser, error)
	Log      io.Writer
	Progress func(done, total int64) // as BuildOptions.Progress, over stored bytes
	NoSBOM   bool                    // as BuildOptions.NoSBOM
	Sign     payload.Signer          // as BuildOptions.Sign: merge --sign-key
}

// Merge writes one installer that carries the union of several: their
// rootfs (a path with different content in two of them is an error), their
// images (each blob stored once), their CMD lines in the order the inputs are
// given and their labels, the later ones winning. Blobs are copied as they
// are stored, never decompressed, and each is read once, from the first
// input that has it, in that input's data order.
func Merge(ctx context.Context, opts MergeOptions) (*Result, error) {
	if len(opts.Inputs) < 2 {
		return nil, errors.New("merge needs at least two installers")
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	ins, err := openInputs(opts.Inputs)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, in := range ins {
			in.r.Close()
		}
	}()
	u, err := unite(ins)
	if err != nil {
		return nil, err
	}
	platform := ins[0].r.Index().Platform
	w, err := createOutput(BuildOptions{Output: opts.Output, SplitSize: opts.SplitSize, Sign: opts.Sign})
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
		}
	}()
	if err := startStub(w, opts.Stub, platform); err != nil {
		return nil, err
	}
	if err := copyStored(ctx, w, ins, u, opts.Progress); err != nil {
		return nil, err
	}
	if err := u.addLayoutIndex(ctx, w); err != nil {
		return nil, err
	}
	meta := payload.Meta{Platform: platform, Labels: u.labels, Env: u.env, Cmds: u.cmds, Images: u.images, Files: u.fileList(),
		Apps: u.apps, Launch: u.launch}
	if len(meta.Labels) == 0 {
		meta.Labels = nil
	}
	if !opts.NoSBOM {
		if meta.SBOM, err = addBill(ctx, w, log, meta, u.read(ins)); err != nil {
			return nil, err
		}
	}
	if err := w.Commit(meta); err != nil {
		return nil, err
	}
	committed = true
	res := &Result{Output: opts.Output, Platform: platform, Files: len(meta.Files), Labels: meta.Labels,
		Cmds: meta.Cmds, Images: meta.Images, PayloadBytes: w.PayloadBytes()}
	for _, f := range meta.Files {
		res.ContentBytes += f.Size
	}
	for _, p := range w.Parts() {
		res.Parts = append(res.Parts, opts.Output+p.Suffix)
	}
	for _, warn := range u.notes {
		fmt.Fprintln(log, warn)
	}
	fmt.Fprintf(log, "merged %d installers into %s: %d files, %d images, %d CMD lines\n",
		len(ins), opts.Output, len(meta.Files), len(meta.Images), len(meta.Cmds))
	return res, nil
}

// input is one installer being merged, named as the user gave it.
type input struct {
	name string
	r    *payload.Reader
}

func openInputs(paths []string) ([]input, error) {
	var ins []input
	fail := func(err error) ([]input, error) {
		for _, in := range ins {
			in.r.Close()
		}
		return nil, err
	}
	for _, p := range paths {
		r, err := payload.Open(p)
		if err != nil {
			return fail(fmt.Errorf("%s: not a usable sealpack installer: %w", p, err))
		}
		in := input{name: filepath.Base(p), r: r}
		ins = append(ins, in)
		if a, b := ins[0].r.Index().Platform, r.Index().Platform; a != b {
			return fail(fmt.Errorf("cannot merge installers of different platforms: %s is for %s, %s is for %s", ins[0].name, a, in.name, b))
		}
	}
	return ins, nil
}

// copyStored copies every blob the merged rootfs needs, input by input, each
// in one pass over that input's data area; a blob an earlier input gave is
// not read again.
func copyStored(ctx context.Context, w *payload.Writer, ins []input, u *union, progress func(done, total int64)) error {
	var total int64
	taken := map[string]bool{}
	need := make([][]string, len(ins))
	for i, in := range ins {
		for _, d := range u.blobsFrom[i] {
			if taken[d] {
				continue
			}
			taken[d] = true
			b, ok := in.r.Blob(d)
			if !ok {
				return fmt.Errorf("%s: its index names blob %s for a file but does not carry it", in.name, d)
			}
			need[i] = append(need[i], d)
			for _, c := range b.Chunks {
				total += c.Stored
			}
		}
	}
	var add func(int64)
	if progress != nil {
		progress(0, total)
		var mu sync.Mutex
		add = func(n int64) { mu.Lock(); progress(n, 0); mu.Unlock() }
	}
	for i, in := range ins {
		if err := w.AddStoredBlobs(ctx, in.r, need[i], add); err != nil {
			return fmt.Errorf("copying from %s: %w", in.name, err)
		}
	}
	return nil
}

// startStub has the Writer copy the installer program for platform, while
// the rest is written when its size is known.
func startStub(w *payload.Writer, open func(string) (io.ReadCloser, error), platform string) error {
	if open == nil {
		return errors.New("no installer program to write the installer with")
	}
	stub, err := open(platform)
	if err != nil {
		return fmt.Errorf("installer stub for %s: %w", platform, err)
	}
	if st, ok := stub.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			return w.StartStub(stub, fi.Size())
		}
	}
	defer stub.Close()
	return w.WriteStub(stub)
}
