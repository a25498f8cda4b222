package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
	"golang.org/x/sync/errgroup"
)

// Options configure Push, Pull and Describe.
type Options struct {
	// Access is how registries are reached (mirrors for reads, plain-HTTP
	// hosts, credentials); nil means the docker config alone.
	Access *pull.Access
	// Jobs is the number of blobs sent or fetched at once; 0 means 4.
	Jobs int
	// Log gets plain progress lines; nil means none.
	Log io.Writer
	// OnProgress, when set, gets the bytes moved so far out of the total.
	OnProgress func(done, total int64)
}

func (o *Options) defaults() error {
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Access == nil {
		a, err := pull.NewAccess(pull.Options{})
		if err != nil {
			return err
		}
		o.Access = a
	}
	return nil
}

// PushResult says what a push published and sent.
type PushResult struct {
	Ref       string   // the reference pushed, with its digest
	Digest    string   // of the manifest, or of the index for several installers
	Platforms []string // one per installer, in the order given
	Layers    int      // distinct blobs (layers and configs) of the artifact
	Sent      int      // blobs the registry did not have
	SentBytes int64    // their bytes
	Referrers []string // digests of the bill and signature manifests attached
	// ReferrerBytes is the size of the documents they carry (sent unless
	// the registry had them).
	ReferrerBytes int64
}

// Push publishes installers at ref: one installer is an image manifest;
// several (one per platform) are an OCI index of them. Blobs the registry
// has already are not sent again.
func Push(ctx context.Context, ref string, installers []string, o Options) (*PushResult, error) {
	if len(installers) == 0 {
		return nil, errors.New("push: no installer given")
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dst, host, err := o.Access.Ref(ref, false)
	if err != nil {
		return nil, err
	}
	var arts []*built
	defer func() {
		for _, a := range arts {
			a.src.Close()
		}
	}()
	seen := map[string]string{}
	for _, path := range installers {
		s, err := openSource(path)
		if err != nil {
			return nil, err
		}
		b, err := build(ctx, s)
		if err != nil {
			s.Close()
			return nil, err
		}
		arts = append(arts, b)
		p := s.cfg.Platform()
		if prev, ok := seen[p]; ok {
			return nil, fmt.Errorf("push: %s and %s are both for %s: give one installer per platform", prev, path, p)
		}
		seen[p] = path
	}
	pusher, err := remote.NewPusher(append(o.Access.Options(), remote.WithContext(ctx))...)
	if err != nil {
		return nil, err
	}
	res := &PushResult{}
	if err := upload(ctx, pusher, dst.Context(), arts, o, res); err != nil {
		return nil, o.Access.Explain(dst, host, err)
	}
	if err := putManifests(ctx, pusher, dst, arts, res); err != nil {
		return nil, o.Access.Explain(dst, host, err)
	}
	for _, a := range arts {
		refs, n, err := putReferrers(ctx, pusher, dst.Context(), a)
		if err != nil {
			return nil, o.Access.Explain(dst, host, err)
		}
		res.Referrers = append(res.Referrers, refs...)
		res.ReferrerBytes += n
	}
	res.Ref = dst.Context().Digest(res.Digest).String()
	return res, nil
}

// upload sends every distinct blob of arts that the registry lacks, Jobs at
// a time.
func upload(ctx context.Context, p *remote.Pusher, repo name.Repository, arts []*built, o Options, res *PushResult) error {
	var todo []blob
	have := map[v1.Hash]bool{}
	var total int64
	for _, a := range arts {
		for _, b := range append([]blob{a.config}, a.layers...) {
			if !have[b.desc.Digest] {
				have[b.desc.Digest] = true
				todo = append(todo, b)
				total += b.desc.Size
			}
		}
	}
	res.Layers = len(todo)
	m := &meter{fn: o.OnProgress, total: total}
	m.add(0)
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Jobs)
	for _, b := range todo {
		g.Go(func() error {
			l := &sectionLayer{blob: b, m: m}
			if err := p.Upload(ctx, repo, l); err != nil {
				return fmt.Errorf("blob %s: %w", b.desc.Digest, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if l.sent > 0 {
				res.Sent++
				res.SentBytes += l.sent
				fmt.Fprintf(o.Log, "sent %s (%s)\n", b.desc.Digest, payload.HumanBytes(b.desc.Size))
			} else {
				m.add(b.desc.Size)
				fmt.Fprintf(o.Log, "exists %s (%s)\n", b.desc.Digest, payload.HumanBytes(b.desc.Size))
			}
			return nil
		})
	}
	return g.Wait()
}

// putManifests puts the manifest at dst, or each by digest and an index of
// them at dst.
func putManifests(ctx context.Context, p *remote.Pusher, dst name.Reference, arts []*built, res *PushResult) error {
	for _, a := range arts {
		res.Platforms = append(res.Platforms, a.src.cfg.Platform())
	}
	if len(arts) == 1 {
		res.Digest = arts[0].digest.String()
		return p.Put(ctx, dst, rawManifest{arts[0].manifest, types.OCIManifestSchema1})
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Annotations: map[string]string{"io.sealpack.artifactType": ArtifactType}}
	for _, a := range arts {
		if err := p.Put(ctx, dst.Context().Digest(a.digest.String()), rawManifest{a.manifest, types.OCIManifestSchema1}); err != nil {
			return fmt.Errorf("manifest for %s: %w", a.src.cfg.Platform(), err)
		}
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(a.manifest)), Digest: a.digest,
			Platform: platformOf(a.src.cfg.Platform()), ArtifactType: ArtifactType,
			Annotations: map[string]string{AnnotationDigest: a.src.cfg.Installer.Digest}})
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	res.Digest = descriptorOf("", raw).Digest.String()
	return p.Put(ctx, dst, rawManifest{raw, types.OCIImageIndex})
}

// rawManifest is a manifest to put as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// sectionLayer is a blob to upload, read from the installer; it counts
// what the registry is sent.
type sectionLayer struct {
	blob
	m    *meter
	sent int64
}

func (l *sectionLayer) Digest() (v1.Hash, error)             { return l.desc.Digest, nil }
func (l *sectionLayer) DiffID() (v1.Hash, error)             { return l.desc.Digest, nil }
func (l *sectionLayer) Size() (int64, error)                 { return l.desc.Size, nil }
func (l *sectionLayer) MediaType() (types.MediaType, error)  { return l.desc.MediaType, nil }
func (l *sectionLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }
func (l *sectionLayer) Compressed() (io.ReadCloser, error) {
	l.sent = 0 // a retry starts over
	return io.NopCloser(&countReader{r: io.NewSectionReader(l.r, 0, l.r.Size()), n: &l.sent, m: l.m}), nil
}

// countReader counts bytes read into n and the meter.
type countReader struct {
	r io.Reader
	n *int64
	m *meter
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	c.m.add(int64(n))
	return n, err
}

// meter adds up bytes moved for OnProgress; calls are serialized.
type meter struct {
	mu          sync.Mutex
	fn          func(done, total int64)
	done, total int64
}

func (m *meter) add(n int64) {
	if m.fn == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += n
	m.fn(min(m.done, m.total), m.total)
}
