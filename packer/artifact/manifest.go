package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Annotations on the manifest (and on an index's entries).
const (
	AnnotationDigest = "io.sealpack.installer.digest" // the installer's identity (payload.Reader.Digest)
	AnnotationTitle  = "org.opencontainers.image.title"
)

// Descriptor-size limits for what is held in memory.
const (
	maxManifest = 4 << 20
	maxConfig   = 64 << 20
)

// blob is one layer or config to upload: where its bytes are.
type blob struct {
	desc v1.Descriptor
	r    *io.SectionReader
}

// built is an installer turned into an artifact: its manifest, config and
// layers, in manifest order.
type built struct {
	src      *source
	manifest []byte
	digest   v1.Hash
	config   blob
	layers   []blob
}

// build hashes the layers of s (raw image layers are named by the digest
// the index has for them) and writes the manifest.
func build(ctx context.Context, s *source) (*built, error) {
	b := &built{src: s}
	in := s.cfg.Installer
	b.layers = append(b.layers, blob{desc: v1.Descriptor{MediaType: StubLayerType, Size: in.StubSize}, r: io.NewSectionReader(s.file, 0, in.StubSize)})
	for _, sp := range s.spans {
		b.layers = append(b.layers, blob{desc: v1.Descriptor{MediaType: DataLayerType, Size: sp.size}, r: io.NewSectionReader(s.data, sp.off, sp.size)})
	}
	tail := s.tail()
	b.layers = append(b.layers, blob{desc: v1.Descriptor{MediaType: IndexLayerType, Size: tail.Size()}, r: tail})
	if err := b.hashLayers(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	raw, err := json.Marshal(s.cfg)
	if err != nil {
		return nil, err
	}
	b.config = blob{desc: descriptorOf(ConfigType, raw), r: io.NewSectionReader(bytes.NewReader(raw), 0, int64(len(raw)))}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType, Config: b.config.desc,
		Annotations: map[string]string{AnnotationDigest: in.Digest}}
	if t := s.cfg.Report.Name; t != "" {
		m.Annotations[AnnotationTitle] = t
	}
	for _, l := range b.layers {
		m.Layers = append(m.Layers, l.desc)
	}
	if b.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	b.digest = descriptorOf("", b.manifest).Digest
	return b, nil
}

// hashLayers fills in each layer's digest, in parallel. A data layer that
// is exactly one raw blob (an image layer) is named by the blob's digest:
// the registry checks it on upload.
func (b *built) hashLayers(ctx context.Context) error {
	known := map[span]string{}
	for _, bl := range b.src.r.Index().Blobs {
		if len(bl.Chunks) > 0 && bl.Raw() && bl.Skip == 0 {
			known[span{bl.Chunks[0].Offset, bl.Size}] = bl.Digest
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range b.layers {
		l := &b.layers[i]
		if i > 0 && i < len(b.layers)-1 {
			if d, ok := known[b.src.spans[i-1]]; ok {
				l.desc.Digest, _ = v1.NewHash(d)
				continue
			}
		}
		g.Go(func() error {
			h := sha256.New()
			if _, err := io.Copy(h, &ctxReader{ctx, io.NewSectionReader(l.r, 0, l.r.Size())}); err != nil {
				return fmt.Errorf("reading layer at %d: %w", i, err)
			}
			l.desc.Digest = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
			return nil
		})
	}
	return g.Wait()
}

func descriptorOf(mt types.MediaType, raw []byte) v1.Descriptor {
	return v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(raw))}}
}

// platformOf turns "linux/arm64/v8" into an index entry's platform.
func platformOf(s string) *v1.Platform {
	p := &v1.Platform{}
	parts := strings.SplitN(s, "/", 3)
	p.OS = parts[0]
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p
}

// ctxReader stops a long read when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
