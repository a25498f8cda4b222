package registry

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// Paths and annotations of the OCI image layout inside the payload's rootfs.
const (
	layoutIndex     = "images/index.json"
	annotationName  = "io.containerd.image.name"
	annotationRef   = "org.opencontainers.image.ref.name"
	maxManifestSize = 4 << 20 // distribution refuses larger manifests too
	maxIndexDepth   = 8       // an index of indexes nests this deep at most
)

// Media types of image indexes; everything else with layers is a manifest.
const (
	mediaOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mediaDockerList  = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaOCIManifest = "application/vnd.oci.image.manifest.v1+json"
)

// descriptor is the part of an OCI descriptor the registry needs.
type descriptor struct {
	MediaType   string            `json:"mediaType,omitempty"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

func (p *platform) String() string {
	if p == nil {
		return "unknown platform"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// manifest holds both shapes: an image manifest (config, layers) and an
// index (manifests). Docker's schema2 and manifest list share these fields.
type manifest struct {
	MediaType string       `json:"mediaType,omitempty"`
	Config    *descriptor  `json:"config,omitempty"`
	Layers    []descriptor `json:"layers,omitempty"`
	Manifests []descriptor `json:"manifests,omitempty"`
}

func (m *manifest) isIndex() bool {
	return m.MediaType == mediaOCIIndex || m.MediaType == mediaDockerList || (m.Config == nil && m.Manifests != nil)
}

// image is one entry of images/index.json: an image as the build carried it.
type image struct {
	Ref        string     // full reference as carried: docker.io/library/nginx:1.27
	Repo       string     // full repository name: docker.io/library/nginx
	Domain     string     // docker.io
	Path       string     // library/nginx
	Tag        string     // "" when carried by digest only
	Descriptor descriptor // the manifest or index
}

// repository is what one repository name serves.
type repository struct {
	name      string
	tags      map[string]string // tag -> manifest digest
	manifests map[string]bool   // manifests and indexes reachable from its images
	blobs     map[string]bool   // every carried blob reachable from its images
}

// catalog is the set of carried images, indexed for serving and pushing.
type catalog struct {
	s         Store
	images    []image
	repos     map[string]*repository // by full name
	domains   map[string][]string    // repository path -> registry hosts carrying it, sorted
	manifests map[string]*manifest   // parsed manifests and indexes, by digest
	warnings  []string
}

// loadCatalog reads images/index.json and the manifests it reaches. Its cost
// grows with the number of images, never with the size of their layers.
func loadCatalog(s Store) (*catalog, error) {
	c := &catalog{s: s, repos: map[string]*repository{}, domains: map[string][]string{}, manifests: map[string]*manifest{}}
	raw, err := s.LayoutIndex()
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil // an installer without images serves an empty registry
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", layoutIndex, err)
	}
	var idx manifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", layoutIndex, err)
	}
	for i, d := range idx.Manifests {
		img, ok, err := c.parseEntry(d)
		if err != nil {
			return nil, fmt.Errorf("%s: manifests[%d]: %w", layoutIndex, i, err)
		}
		if !ok {
			c.warnings = append(c.warnings, fmt.Sprintf("%s: manifests[%d] (%s) has no %s annotation: not served", layoutIndex, i, d.Digest, annotationName))
			continue
		}
		repo := c.repo(img)
		if img.Tag != "" {
			if prev, dup := repo.tags[img.Tag]; dup && prev != d.Digest {
				return nil, fmt.Errorf("%s: manifests[%d]: %s:%s is carried twice, as %s and %s", layoutIndex, i, img.Repo, img.Tag, prev, d.Digest)
			}
			repo.tags[img.Tag] = d.Digest
		}
		if err := c.walk(repo, d.Digest, 0); err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		c.images = append(c.images, img)
	}
	return c, nil
}

// parseEntry turns an index.json entry into an image; ok is false when the
// entry has no name (it cannot be served under any repository).
func (c *catalog) parseEntry(d descriptor) (image, bool, error) {
	if !c.carried(d.Digest) {
		return image{}, false, fmt.Errorf("%s is not carried", d.Digest)
	}
	ref := d.Annotations[annotationName]
	if ref == "" {
		return image{}, false, nil
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return image{}, false, fmt.Errorf("image name %q: %w", ref, err)
	}
	img := image{Ref: ref, Repo: named.Name(), Domain: reference.Domain(named), Path: reference.Path(named), Descriptor: d}
	if t, ok := named.(reference.Tagged); ok {
		img.Tag = t.Tag()
	} else if _, byDigest := named.(reference.Digested); !byDigest {
		// A bare name: the layout's ref.name annotation holds the tag.
		img.Tag = d.Annotations[annotationRef]
		if img.Tag == "" {
			img.Tag = "latest"
		}
	}
	if img.Tag != "" && !reference.TagRegexp.MatchString(img.Tag) {
		return image{}, false, fmt.Errorf("image %s: invalid tag %q", ref, img.Tag)
	}
	return img, true, nil
}

func (c *catalog) repo(img image) *repository {
	repo, ok := c.repos[img.Repo]
	if !ok {
		repo = &repository{name: img.Repo, tags: map[string]string{}, manifests: map[string]bool{}, blobs: map[string]bool{}}
		c.repos[img.Repo] = repo
		hosts := c.domains[img.Path]
		if i, found := slices.BinarySearch(hosts, img.Domain); !found {
			c.domains[img.Path] = slices.Insert(hosts, i, img.Domain)
		}
	}
	return repo
}

// walk links manifest d and every carried blob it reaches into repo. Blobs
// that are not carried (other platforms of an index, foreign layers) are
// skipped: a pull for them gets BLOB_UNKNOWN, as it should.
func (c *catalog) walk(repo *repository, d string, depth int) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("%s: indexes nested deeper than %d", d, maxIndexDepth)
	}
	m, err := c.manifest(d)
	if err != nil {
		return err
	}
	repo.manifests[d] = true
	repo.blobs[d] = true
	if m.Config != nil && c.carried(m.Config.Digest) {
		repo.blobs[m.Config.Digest] = true
	}
	for _, l := range m.Layers {
		if c.carried(l.Digest) {
			repo.blobs[l.Digest] = true
		}
	}
	for _, child := range m.Manifests {
		if !c.carried(child.Digest) || repo.manifests[child.Digest] {
			continue
		}
		if err := c.walk(repo, child.Digest, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (c *catalog) carried(d string) bool { _, ok := c.s.Stat(d); return ok }

// manifest returns the parsed manifest or index d, reading it once.
func (c *catalog) manifest(d string) (*manifest, error) {
	if m, ok := c.manifests[d]; ok {
		return m, nil
	}
	raw, err := c.readManifest(d)
	if err != nil {
		return nil, err
	}
	m := new(manifest)
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d, err)
	}
	c.manifests[d] = m
	return m, nil
}

// readManifest returns the bytes of manifest d, checked against its digest.
func (c *catalog) readManifest(d string) ([]byte, error) {
	size, ok := c.s.Stat(d)
	if !ok {
		return nil, fmt.Errorf("manifest %s is not carried", d)
	}
	if size > maxManifestSize {
		return nil, fmt.Errorf("manifest %s has %d bytes, more than %d", d, size, maxManifestSize)
	}
	raw, err := c.readBlob(d)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d, err)
	}
	return raw, nil
}

// readBlob reads a small blob (a manifest, a config) whole and checks it
// against its digest, whatever the store.
func (c *catalog) readBlob(d string) ([]byte, error) {
	rc, err := c.s.Open(d, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != d {
		return nil, fmt.Errorf("content has digest %s: the copy is damaged", got)
	}
	return raw, nil
}

// complete reports whether manifest d and everything it references are
// carried, so that a registry accepts it as it is.
func (c *catalog) complete(d string, depth int) bool {
	if depth > maxIndexDepth || !c.carried(d) {
		return false
	}
	m, err := c.manifest(d)
	if err != nil {
		return false
	}
	if m.Config != nil && !c.carried(m.Config.Digest) {
		return false
	}
	for _, l := range m.Layers {
		if !c.carried(l.Digest) && !foreign(l.MediaType) {
			return false
		}
	}
	for _, child := range m.Manifests {
		if !c.complete(child.Digest, depth+1) {
			return false
		}
	}
	return true
}

// foreign reports whether a layer is non-distributable: registries do not
// hold such layers, so they are never carried.
func foreign(mediaType string) bool {
	return strings.Contains(mediaType, "foreign") || strings.Contains(mediaType, "nondistributable")
}
