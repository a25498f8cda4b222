package sbom

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/distribution/reference"

	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
)

// descriptor and manifest hold the fields of OCI documents the bill needs.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	} `json:"platform,omitempty"`
}

type manifest struct {
	MediaType    string       `json:"mediaType"`
	ArtifactType string       `json:"artifactType,omitempty"`
	Config       *descriptor  `json:"config,omitempty"`
	Layers       []descriptor `json:"layers,omitempty"`
	Manifests    []descriptor `json:"manifests,omitempty"`
	Subject      *descriptor  `json:"subject,omitempty"`
}

// layout is the rootfs's OCI layout as far as the bill reads it.
type layout struct {
	read    func(string) ([]byte, error)
	carried map[string]bool // blob digests present under images/blobs
	byName  map[string]descriptor
}

// images lists every carried image as a container component, in the
// index's order; an image's platform manifests (of an index) and its
// referrers are its nested components.
func images(in Input) ([]cdx.Component, error) {
	if len(in.Images) == 0 {
		return nil, nil
	}
	l, err := openLayout(in)
	if err != nil {
		return nil, err
	}
	out := make([]cdx.Component, 0, len(in.Images))
	for _, im := range in.Images {
		c, err := l.image(im)
		if err != nil {
			return nil, fmt.Errorf("bill of materials: image %s: %w", im.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func openLayout(in Input) (*layout, error) {
	l := &layout{read: in.Read, carried: map[string]bool{}, byName: map[string]descriptor{}}
	var index string
	for _, f := range in.Files {
		if f.Path == pull.IndexFile {
			index = f.Digest
		}
		if dir, hex := path.Split(f.Path); dir == pull.BlobDir+"/" && f.Type == payload.TypeFile {
			l.carried["sha256:"+hex] = true
		}
	}
	if index == "" {
		return nil, fmt.Errorf("bill of materials: %d images but no %s in the rootfs", len(in.Images), pull.IndexFile)
	}
	var idx manifest
	if err := l.doc(index, &idx); err != nil {
		return nil, fmt.Errorf("bill of materials: %s: %w", pull.IndexFile, err)
	}
	for _, d := range idx.Manifests {
		if n := d.Annotations[pull.AnnotationRef]; n != "" {
			l.byName[n] = d
		}
	}
	return l, nil
}

// doc reads and decodes the document with digest d.
func (l *layout) doc(d string, v any) error {
	data, err := l.read(d)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	return nil
}

func (l *layout) image(im payload.Image) (cdx.Component, error) {
	d, ok := l.byName[im.Name]
	if !ok {
		return cdx.Component{}, fmt.Errorf("not in %s", pull.IndexFile)
	}
	if d.Digest != im.Digest {
		return cdx.Component{}, fmt.Errorf("%s names %s, the index %s", pull.IndexFile, d.Digest, im.Digest)
	}
	repo, tag := splitName(im.Name)
	c := cdx.Component{
		BOMRef: "image:" + im.Name, Type: cdx.ComponentTypeContainer, Name: repo, Version: tag,
		Hashes:     sha(im.Digest),
		PackageURL: purl(repo, tag, im.Digest, im.Platform),
	}
	props := []cdx.Property{{Name: PropImage, Value: im.Name}, {Name: PropPlatform, Value: im.Platform}}
	var m manifest
	if err := l.doc(im.Digest, &m); err != nil {
		return cdx.Component{}, err
	}
	var nested []cdx.Component
	if m.Config != nil {
		props = append(props, layers(m)...)
	}
	for _, child := range m.Manifests {
		if !l.carried[child.Digest] || child.Platform == nil {
			continue // another platform's manifest, or an attestation left behind
		}
		nc, err := l.platform(im.Name, repo, tag, child)
		if err != nil {
			return cdx.Component{}, err
		}
		nested = append(nested, nc)
	}
	refs, err := l.referrers(im.Name, d)
	if err != nil {
		return cdx.Component{}, err
	}
	nested = append(nested, refs...)
	c.Properties = &props
	if len(nested) > 0 {
		c.Components = &nested
	}
	return c, nil
}

// platform is one platform's manifest of a multi-platform image.
func (l *layout) platform(name, repo, tag string, d descriptor) (cdx.Component, error) {
	p := d.Platform.OS + "/" + d.Platform.Architecture
	if d.Platform.Variant != "" {
		p += "/" + d.Platform.Variant
	}
	var m manifest
	if err := l.doc(d.Digest, &m); err != nil {
		return cdx.Component{}, err
	}
	props := append([]cdx.Property{{Name: PropPlatform, Value: p}}, layers(m)...)
	return cdx.Component{
		BOMRef: "image:" + name + "@" + d.Digest, Type: cdx.ComponentTypeContainer, Name: repo, Version: d.Digest,
		Hashes: sha(d.Digest), PackageURL: purl(repo, tag, d.Digest, p), Properties: &props,
	}, nil
}

// referrers lists the attestations carried for an image: the manifests
// its index.json entry names (pull.AnnotationReferrers).
func (l *layout) referrers(name string, d descriptor) ([]cdx.Component, error) {
	list := d.Annotations[pull.AnnotationReferrers]
	if list == "" {
		return nil, nil
	}
	var out []cdx.Component
	for _, rd := range strings.Split(list, ",") {
		var m manifest
		if err := l.doc(rd, &m); err != nil {
			return nil, fmt.Errorf("referrer %s: %w", rd, err)
		}
		at := artifactType(m)
		props := []cdx.Property{{Name: PropArtifactType, Value: at}, {Name: PropPath, Value: pull.BlobDir + "/" + strings.TrimPrefix(rd, "sha256:")}}
		if m.Subject != nil {
			props = append(props, cdx.Property{Name: PropSubject, Value: m.Subject.Digest})
		}
		props = append(props, layers(m)...)
		out = append(out, cdx.Component{
			BOMRef: "image:" + name + "/referrer:" + rd, Type: cdx.ComponentTypeData, MIMEType: m.MediaType,
			Name: at, Version: rd, Description: "attestation carried from the source registry (OCI referrer)",
			Hashes: sha(rd), Properties: &props,
		})
	}
	return out, nil
}

// emptyConfig is the config of an artifact that has none (OCI 1.1).
const emptyConfig = "application/vnd.oci.empty.v1+json"

// artifactType is what a referrer is: its artifactType, else its config's
// media type (as the referrers API answers), else, for an artifact pushed
// with an empty config and no type, its first layer's media type.
func artifactType(m manifest) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if m.Config != nil && m.Config.MediaType != emptyConfig && m.Config.MediaType != "" {
		return m.Config.MediaType
	}
	if len(m.Layers) > 0 {
		return m.Layers[0].MediaType
	}
	return "application/octet-stream"
}

// layers is one property per layer digest, in the manifest's order.
func layers(m manifest) []cdx.Property {
	out := make([]cdx.Property, 0, len(m.Layers))
	for _, l := range m.Layers {
		out = append(out, cdx.Property{Name: PropLayer, Value: l.Digest})
	}
	return out
}

func sha(digest string) *[]cdx.Hash {
	return &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(digest, "sha256:")}}
}

// splitName returns an image name's repository and its tag ("" when it is
// named by digest only).
func splitName(name string) (repo, tag string) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name, "" // carried names were parsed by the pull; keep it whole
	}
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return named.Name(), tag
}

// purl is the image's package URL (purl-spec's oci type): the last path
// element as the name, the digest as the version.
func purl(repo, tag, digest, platform string) string {
	q := url.Values{}
	if arch := platformArch(platform); arch != "" {
		q.Set("arch", arch)
	}
	q.Set("repository_url", repo)
	if tag != "" {
		q.Set("tag", tag)
	}
	return "pkg:oci/" + url.PathEscape(strings.ToLower(path.Base(repo))) + "@" + strings.Replace(digest, ":", "%3A", 1) + "?" + q.Encode()
}

// platformArch is the architecture of a single platform ("" for several).
func platformArch(p string) string {
	if p == "" || strings.Contains(p, ",") {
		return ""
	}
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}
