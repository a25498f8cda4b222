package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageRef is one image to carry.
type imageRef struct {
	name   string // canonical full reference, as carried
	tag    string // "" when pulled by digest only
	digest string // "" when pulled by tag
	src    origin
}

func (c *client) parseRef(s string) (*imageRef, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", s, err)
	}
	named = reference.TagNameOnly(named)
	img := &imageRef{name: named.String()}
	if t, ok := named.(reference.Tagged); ok {
		img.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		img.digest = d.Digest().String()
		if !validDigest(img.digest) {
			return nil, fmt.Errorf("image %q: only sha256 digests are supported", s)
		}
	}
	if img.src, err = c.originOf(named); err != nil {
		return nil, fmt.Errorf("image %q: %w", s, err)
	}
	return img, nil
}

// blob is one blob an image needs.
type blob struct {
	digest    string
	size      int64
	mediaType string
	layer     bool      // fetched in the download stage and stored raw
	data      []byte    // the content of manifests and configs
	ref       *imageRef // the first image that needs it: where to fetch it, whom to name
}

// resolved is an image with every blob it needs, in storage order.
type resolved struct {
	ref      *imageRef
	desc     v1.Descriptor // its entry in images/index.json
	platform string
	blobs    []*blob
	seen     map[string]bool
	subjects []string // its manifests, whose referrers are looked for
	refs     []string // referrer manifests carried (referrers.go)
	extra    []*blob  // their blobs: not part of the image, not in its size
}

func (r *resolved) add(b *blob) {
	if !r.seen[b.digest] {
		r.seen[b.digest] = true
		r.blobs = append(r.blobs, b)
	}
}

func (r *resolved) size() int64 {
	var n int64
	for _, b := range r.blobs {
		n += b.size
	}
	return n
}

// manifestDoc holds the fields of an image manifest or index that matter here.
type manifestDoc struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        *v1.Descriptor  `json:"config"`
	Layers        []v1.Descriptor `json:"layers"`
	Manifests     []v1.Descriptor `json:"manifests"`
}

func (m *manifestDoc) isIndex() bool { return m.Config == nil }

func parseManifest(data []byte) (*manifestDoc, error) {
	m := new(manifestDoc)
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("not a manifest: %w", err)
	}
	if m.SchemaVersion == 1 {
		return nil, errors.New("Docker schema 1 manifests are not supported (push the image again with a current client)")
	}
	switch mt := types.MediaType(m.MediaType); {
	case m.Config != nil && m.Manifests == nil:
		if mt == "" {
			m.MediaType = string(types.OCIManifestSchema1)
		}
	case m.Config == nil && m.Manifests != nil && m.Layers == nil:
		if mt == "" {
			m.MediaType = string(types.OCIImageIndex)
		}
	default:
		return nil, fmt.Errorf("neither an image manifest nor an image index (media type %q)", m.MediaType)
	}
	return m, nil
}

// resolve fetches an image's manifests and configs and lists its blobs.
func (c *client) resolve(ctx context.Context, img *imageRef) (*resolved, error) {
	id := img.tag
	if img.digest != "" {
		id = img.digest
	}
	data, digest, err := c.manifest(ctx, img, id)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, &PullError{Image: img.name, What: "manifest " + digest, Err: err}
	}
	r := &resolved{ref: img, seen: map[string]bool{}}
	r.desc = v1.Descriptor{MediaType: types.MediaType(m.MediaType), Size: int64(len(data))}
	r.desc.Digest, _ = v1.NewHash(digest)
	r.add(&blob{digest: digest, size: int64(len(data)), mediaType: m.MediaType, data: data, ref: img})
	r.subjects = append(r.subjects, digest)
	if !m.isIndex() {
		p, err := c.addImage(ctx, r, m, true)
		if err != nil {
			return nil, err
		}
		r.platform = p.String()
		r.desc.Platform = &v1.Platform{OS: p.os, Architecture: p.arch, Variant: p.variant}
		return r, nil
	}
	var names []string
	for _, want := range c.cfg.platforms {
		d, err := pick(m.Manifests, want)
		if err != nil {
			return nil, &PullError{Image: img.name, Err: err}
		}
		names = append(names, want.String())
		if r.seen[d.Digest.String()] {
			continue // two platforms served by one manifest
		}
		if !validDigest(d.Digest.String()) {
			return nil, &PullError{Image: img.name, Err: fmt.Errorf("index names manifest %q: not a sha256 digest", d.Digest)}
		}
		what := "manifest " + d.Digest.String()
		child, cd, err := c.manifest(ctx, img, d.Digest.String())
		if err != nil {
			return nil, err
		}
		if int64(len(child)) != d.Size {
			return nil, &PullError{Image: img.name, Registry: img.src.host, What: what, Err: fmt.Errorf("%d bytes, the index says %d", len(child), d.Size)}
		}
		cm, err := parseManifest(child)
		if err != nil {
			return nil, &PullError{Image: img.name, What: what, Err: err}
		}
		if cm.isIndex() {
			return nil, &PullError{Image: img.name, What: what, Err: errors.New("an index inside an index is not supported")}
		}
		r.add(&blob{digest: cd, size: int64(len(child)), mediaType: cm.MediaType, data: child, ref: img})
		r.subjects = append(r.subjects, cd)
		if _, err := c.addImage(ctx, r, cm, false); err != nil {
			return nil, err
		}
	}
	r.platform = strings.Join(names, ",")
	return r, nil
}

// pick returns the index entry for platform want.
func pick(list []v1.Descriptor, want platform) (v1.Descriptor, error) {
	var have []string
	seen := map[string]bool{}
	for _, d := range list {
		if d.Platform == nil {
			continue
		}
		p := fromV1(d.Platform)
		if want.accepts(p) {
			return d, nil
		}
		// Attestations (unknown/unknown) are not platforms anyone can ask for.
		if s := p.String(); p.os != "unknown" && !seen[s] {
			seen[s] = true
			have = append(have, s)
		}
	}
	if len(have) == 0 {
		return v1.Descriptor{}, fmt.Errorf("no %s manifest in its index (it names no platform)", want)
	}
	return v1.Descriptor{}, fmt.Errorf("no %s manifest in its index (it has %s)", want, strings.Join(have, ", "))
}

// addImage adds an image manifest's config and layers to r. For a plain
// manifest (check), the config's platform must be one that was asked for.
func (c *client) addImage(ctx context.Context, r *resolved, m *manifestDoc, check bool) (platform, error) {
	img := r.ref
	cd := m.Config.Digest.String()
	if !validDigest(cd) {
		return platform{}, &PullError{Image: img.name, Err: fmt.Errorf("config %q: not a sha256 digest", cd)}
	}
	cfg, err := c.smallBlob(ctx, img, cd, m.Config.Size)
	if err != nil {
		return platform{}, err
	}
	r.add(&blob{digest: cd, size: m.Config.Size, mediaType: string(m.Config.MediaType), data: cfg, ref: img})
	var p platform
	if check {
		var pc struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		}
		if err := json.Unmarshal(cfg, &pc); err != nil || pc.OS == "" || pc.Architecture == "" {
			return platform{}, &PullError{Image: img.name, Err: errors.New("its config names no platform (os, architecture): not a container image?")}
		}
		p = platform{os: pc.OS, arch: pc.Architecture, variant: pc.Variant}
		ok := false
		for _, want := range c.cfg.platforms {
			ok = ok || want.accepts(p)
		}
		if !ok {
			var wants []string
			for _, w := range c.cfg.platforms {
				wants = append(wants, w.String())
			}
			return platform{}, &PullError{Image: img.name, Err: fmt.Errorf("the image is %s only, not %s (it has no index of platforms)", p, strings.Join(wants, ", "))}
		}
	}
	for _, l := range m.Layers {
		d := l.Digest.String()
		if !validDigest(d) || l.Size < 0 {
			return platform{}, &PullError{Image: img.name, Err: fmt.Errorf("layer %q of size %d: not a sha256 digest or a bad size", d, l.Size)}
		}
		r.add(&blob{digest: d, size: l.Size, mediaType: string(l.MediaType), layer: true, ref: img})
	}
	return p, nil
}

func validDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
