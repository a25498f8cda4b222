// Package pull carries container images into a payload: it pulls them from
// their registries (or mirrors) for the target platforms and stores them as
// an OCI image layout under images/ in the rootfs, each blob once.
package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sealpack/sealpack/payload"
)

// Store pulls every image of refs for opts.Platforms and adds its blobs to w
// (layers raw, since they are compressed already). It returns the rootfs
// files of the OCI layout under images/ and a summary of each image, both
// sorted by name. The same refs give the same bytes, whatever their order.
// A failure names the image and the registry's answer; failures to resolve
// are reported together.
func Store(ctx context.Context, refs []string, w *payload.Writer, opts Options) ([]payload.File, []payload.Image, error) {
	cfg, err := opts.config()
	if err != nil {
		return nil, nil, err
	}
	log := &logger{w: cfg.log}
	bc, err := openCache(cfg.cacheDir)
	if err != nil {
		return nil, nil, err
	}
	c, err := newClient(cfg, bc, log)
	if err != nil {
		return nil, nil, err
	}
	imgs, err := c.parseRefs(refs)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	res, err := c.resolveAll(ctx, imgs)
	if err != nil {
		return nil, nil, err
	}
	idx, err := indexJSON(res, opts.Base)
	if err != nil {
		return nil, nil, err
	}

	files, todo, inPayload := plan(res, w)
	ctx, stop := context.WithCancel(ctx)
	var ds *downloads
	defer func() {
		stop()
		if ds != nil {
			ds.wg.Wait() // no download outlives Store
		}
	}()
	m := &meter{fn: cfg.onBytes}
	g := gather(todo, opts.Reuse)
	if bc != nil {
		ds = c.startDownloads(ctx, stop, g.layers, m)
	}
	c.announce(g, ds, m, inPayload)
	digests, err := c.add(ctx, w, g, ds, m, idx)
	if err != nil {
		return nil, nil, err
	}
	files = append(files,
		payload.File{Path: LayoutFile, Type: payload.TypeFile, Mode: 0o644, Size: int64(len(ociLayout)), Digest: digests[len(todo)]},
		payload.File{Path: IndexFile, Type: payload.TypeFile, Mode: 0o644, Size: int64(len(idx)), Digest: digests[len(todo)+1]})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	keepDocs(opts.Docs, res, digests[len(todo)+1], idx)

	images := make([]payload.Image, 0, len(res))
	for _, r := range res {
		images = append(images, payload.Image{Name: r.ref.name, Digest: r.desc.Digest.String(), Platform: r.platform, Size: r.size()})
	}
	log.printf("stored %d images, %d blobs, in %s", len(images), len(files)-2, since(start))
	return files, images, nil
}

// gathering is where the blobs the payload lacks come from: layers copied
// from an installer being rebuilt (reused), the other layers from the cache
// or their registry, manifests and configs from memory.
type gathering struct {
	todo        []*blob // every blob to add, in image order
	layers      []*blob // layers to download (or find in the cache)
	reused      map[string]*io.SectionReader
	reusedBytes int64
}

// gather sorts todo's layers into those reuse's installers hold and those
// to download; reuse is called only when there is a layer to look for.
func gather(todo []*blob, reuse func() []*payload.Reader) *gathering {
	g := &gathering{todo: todo, reused: map[string]*io.SectionReader{}}
	var from []*payload.Reader
	if reuse != nil && slices.ContainsFunc(todo, func(b *blob) bool { return b.layer }) {
		from = reuse()
	}
	for _, b := range todo {
		if !b.layer {
			continue
		}
		if sec := reusable(from, b.digest, b.size); sec != nil {
			g.reused[b.digest] = sec
			g.reusedBytes += b.size
			continue
		}
		g.layers = append(g.layers, b)
	}
	return g
}

// announce sets the progress total to the bytes to download and says where
// the layers come from.
func (c *client) announce(g *gathering, ds *downloads, m *meter, inPayload int) {
	var fetch, cached int
	var fetchBytes, cachedBytes int64
	for _, b := range g.layers {
		if ds != nil && ds.byDigest[b.digest].cached {
			cached++
			cachedBytes += b.size
		} else {
			fetch++
			fetchBytes += b.size
		}
	}
	m.grow(fetchBytes)
	c.log.printf("%d layers to download (%s), %d in the cache (%s), %d in the installer being rebuilt (%s), %d blobs already in the payload",
		fetch, payload.HumanBytes(fetchBytes), cached, payload.HumanBytes(cachedBytes), len(g.reused), payload.HumanBytes(g.reusedBytes), inPayload)
}

// add stores the blobs of g, then the layout's oci-layout and index.json
// files (idx), and returns their digests in that order.
func (c *client) add(ctx context.Context, w *payload.Writer, g *gathering, ds *downloads, m *meter, idx []byte) ([]string, error) {
	srcs := make([]payload.Source, 0, len(g.todo)+2)
	for _, b := range g.todo {
		if sec, ok := g.reused[b.digest]; ok {
			srcs = append(srcs, payload.Source{Name: blobPath(b.digest), Compress: payload.Never,
				Open: func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(sec, 0, sec.Size())), nil }})
			continue
		}
		srcs = append(srcs, c.source(ctx, b, ds, m))
	}
	srcs = append(srcs, memSource(LayoutFile, ociLayout), memSource(IndexFile, idx))
	digests, err := w.Add(ctx, srcs)
	if err != nil {
		return nil, storeErr(err, ds)
	}
	for i, b := range g.todo {
		if digests[i] != b.digest {
			// Only a cache file or an earlier installer changed or damaged
			// under us can get here.
			return nil, fmt.Errorf("pull %s: blob %s was stored as %s (blob cache or earlier installer damaged?)", b.ref.name, b.digest, digests[i])
		}
	}
	return digests, nil
}

// reusable returns the layer digest from one of the installers, when one
// stores it raw and whole (so it is copied, not decoded).
func reusable(from []*payload.Reader, digest string, size int64) *io.SectionReader {
	for _, r := range from {
		if sec, ok := r.Section(digest); ok && sec.Size() == size {
			return sec
		}
	}
	return nil
}

// plan lists every blob once, in image order, as a rootfs file; those the
// payload has already (FROM another installer) are not fetched again.
func plan(res []*resolved, w *payload.Writer) (files []payload.File, todo []*blob, inPayload int) {
	seen := map[string]bool{}
	for _, r := range res {
		for _, b := range slices.Concat(r.blobs, r.extra) {
			if seen[b.digest] {
				continue
			}
			seen[b.digest] = true
			files = append(files, payload.File{Path: blobPath(b.digest), Type: payload.TypeFile, Mode: 0o644, Size: b.size, Digest: b.digest})
			if w.Has(b.digest) {
				inPayload++
				continue
			}
			todo = append(todo, b)
		}
	}
	return files, todo, inPayload
}

// parseRefs normalizes, sorts and dedupes refs; every bad one is reported.
func (c *client) parseRefs(refs []string) ([]*imageRef, error) {
	byName := map[string]*imageRef{}
	var errs []error
	for _, s := range refs {
		img, err := c.parseRef(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byName[img.name] = img
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	imgs := make([]*imageRef, 0, len(byName))
	for _, img := range byName {
		imgs = append(imgs, img)
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].name < imgs[j].name })
	return imgs, nil
}

// resolveAll says what it resolves, then resolves the images jobs at a
// time; every failure is reported.
func (c *client) resolveAll(ctx context.Context, imgs []*imageRef) ([]*resolved, error) {
	var names []string
	for _, p := range c.cfg.platforms {
		names = append(names, p.String())
	}
	c.log.printf("resolving %d images for %s", len(imgs), strings.Join(names, ","))
	res := make([]*resolved, len(imgs))
	errs := make([]error, len(imgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(c.cfg.jobs, max(1, len(imgs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if res[i], errs[i] = c.resolve(ctx, imgs[i]); errs[i] == nil && !c.cfg.noReferrers {
					errs[i] = c.addReferrers(ctx, res[i])
				}
				if errs[i] == nil {
					r := res[i]
					c.log.printf("%s %s (%s, %d blobs, %s)", r.ref.name, r.desc.Digest, r.platform, len(r.blobs), payload.HumanBytes(r.size()))
				}
			}
		}()
	}
	for i := range imgs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// source is how the Writer reads a blob: manifests and configs from memory,
// layers from the cache once downloaded, or from the registry without one.
func (c *client) source(ctx context.Context, b *blob, ds *downloads, m *meter) payload.Source {
	s := payload.Source{Name: blobPath(b.digest), Compress: payload.Auto}
	switch {
	case !b.layer:
		data := b.data
		s.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	case ds != nil:
		s.Compress = payload.Never
		s.Open = func() (io.ReadCloser, error) {
			if err := ds.wait(ctx, b.digest); err != nil {
				return nil, err
			}
			f, err := os.Open(c.cache.path(b.digest))
			if err != nil {
				return nil, fmt.Errorf("blob cache: %w", err)
			}
			return f, nil
		}
	default:
		s.Compress = payload.Never
		s.Open = func() (io.ReadCloser, error) { return c.stream(ctx, b, m) }
	}
	return s
}

func memSource(name string, data []byte) payload.Source {
	return payload.Source{Name: name, Compress: payload.Auto,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// storeErr picks the error to show for a failed Add: a download's failure
// (which cancelled the Add) or the image named in the Writer's error.
func storeErr(err error, ds *downloads) error {
	if ds != nil {
		if first := ds.err(); first != nil {
			return first
		}
	}
	var pe *PullError
	if errors.As(err, &pe) {
		return pe
	}
	return fmt.Errorf("storing images: %w", err)
}
