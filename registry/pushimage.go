package registry

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The types below show carried images to go-containerregistry's remote
// package as v1.Image and v1.ImageIndex. Manifests are handed over as the
// bytes the payload holds, so digests stay what they were; layers stream from
// the installer file.

// payloadImage is a partial.CompressedImageCore over a carried manifest.
type payloadImage struct {
	c         *catalog
	raw       []byte
	m         *manifest
	mediaType types.MediaType
}

func (c *catalog) image(d descriptor) (v1.Image, error) {
	raw, err := c.readManifest(d.Digest)
	if err != nil {
		return nil, err
	}
	m, err := c.manifest(d.Digest)
	if err != nil {
		return nil, err
	}
	if m.Config == nil {
		return nil, fmt.Errorf("manifest %s has no config", d.Digest)
	}
	return partial.CompressedToImage(&payloadImage{c: c, raw: raw, m: m, mediaType: mediaTypeOf(d, m)})
}

func mediaTypeOf(d descriptor, m *manifest) types.MediaType {
	if m.MediaType != "" {
		return types.MediaType(m.MediaType)
	}
	if d.MediaType != "" {
		return types.MediaType(d.MediaType)
	}
	if m.isIndex() {
		return types.OCIImageIndex
	}
	return types.OCIManifestSchema1
}

func (i *payloadImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *payloadImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *payloadImage) RawConfigFile() ([]byte, error)      { return i.c.readBlob(i.m.Config.Digest) }
func (i *payloadImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h.String() == i.m.Config.Digest {
		return &payloadLayer{c: i.c, d: *i.m.Config}, nil
	}
	for _, l := range i.m.Layers {
		if l.Digest == h.String() {
			return &payloadLayer{c: i.c, d: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in manifest", h)
}

// payloadLayer is a partial.CompressedLayer read from the payload.
type payloadLayer struct {
	c *catalog
	d descriptor
}

func (l *payloadLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.d.Digest) }
func (l *payloadLayer) Size() (int64, error)     { return l.d.Size, nil }
func (l *payloadLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.d.MediaType), nil
}

// Compressed streams the layer as stored (go-containerregistry checks its
// digest as it uploads).
func (l *payloadLayer) Compressed() (io.ReadCloser, error) {
	return l.c.s.Open(l.d.Digest, 0)
}

// payloadIndex is a v1.ImageIndex over index bytes: a carried index, or one
// trimmed to the carried platforms.
type payloadIndex struct {
	c         *catalog
	raw       []byte
	im        *v1.IndexManifest
	mediaType types.MediaType
}

func newPayloadIndex(c *catalog, raw []byte, mt types.MediaType) (*payloadIndex, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &payloadIndex{c: c, raw: raw, im: im, mediaType: mt}, nil
}

func (x *payloadIndex) MediaType() (types.MediaType, error)       { return x.mediaType, nil }
func (x *payloadIndex) Digest() (v1.Hash, error)                  { return partial.Digest(x) }
func (x *payloadIndex) Size() (int64, error)                      { return int64(len(x.raw)), nil }
func (x *payloadIndex) IndexManifest() (*v1.IndexManifest, error) { return x.im, nil }
func (x *payloadIndex) RawManifest() ([]byte, error)              { return x.raw, nil }
func (x *payloadIndex) Image(h v1.Hash) (v1.Image, error)         { return x.c.image(x.child(h)) }
func (x *payloadIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	raw, err := x.c.readManifest(h.String())
	if err != nil {
		return nil, err
	}
	return newPayloadIndex(x.c, raw, x.child(h).mediaTypeOr(types.OCIImageIndex))
}

func (x *payloadIndex) child(h v1.Hash) descriptor {
	for _, m := range x.im.Manifests {
		if m.Digest == h {
			return descriptor{MediaType: string(m.MediaType), Digest: h.String(), Size: m.Size}
		}
	}
	return descriptor{Digest: h.String()}
}

func (d descriptor) mediaTypeOr(def types.MediaType) types.MediaType {
	if d.MediaType != "" {
		return types.MediaType(d.MediaType)
	}
	return def
}
