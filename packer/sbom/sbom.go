// Package sbom writes an installer's bill of materials: a CycloneDX 1.5 JSON
// document that lists the installer, every file of its rootfs and every
// image it carries, with the images' own attestations (OCI referrers). It is
// made from what the build already holds (the index entries and the
// manifests it pulled); no layer is read.
package sbom

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/sealpack/sealpack/payload"
)

// Property names of the bill; CycloneDX leaves such facts to properties.
const (
	PropPlatform     = "sealpack:platform"
	PropImage        = "sealpack:image" // the name as carried (inspect lists it)
	PropLayer        = "sealpack:layer" // a layer digest, in manifest order
	PropMode         = "sealpack:mode"  // permission bits, octal
	PropType         = "sealpack:type"  // symlink (regular files have none)
	PropTarget       = "sealpack:symlink-target"
	PropPath         = "sealpack:path" // where a carried blob lives in the rootfs
	PropArtifactType = "sealpack:artifact-type"
	PropSubject      = "sealpack:subject" // the manifest a referrer refers to
)

// Input is what a bill is made from.
type Input struct {
	Name     string // used when the title label is missing
	Platform string
	Labels   map[string]string
	Files    []payload.File
	Images   []payload.Image
	// Read returns a small document the build stored (images/index.json,
	// manifests, referrer manifests) by its digest.
	Read func(digest string) ([]byte, error)
}

// Build returns the bill as CycloneDX 1.5 JSON. The same input gives the
// same bytes: no clock is read, and the serial number is derived from the
// rest of the document.
func Build(in Input) ([]byte, error) {
	imgs, err := images(in)
	if err != nil {
		return nil, err
	}
	bom := cdx.NewBOM()
	// Written as 1.5 from the start: EncodeVersion would deep-copy the
	// document through gob to convert it, a fifth of a build's time.
	bom.SpecVersion, bom.JSONSchema = cdx.SpecVersion1_5, "http://cyclonedx.org/schema/bom-1.5.schema.json"
	bom.Metadata = metadata(in)
	comps := make([]cdx.Component, 0, len(in.Files)+len(imgs))
	for _, f := range in.Files {
		if c, ok := fileComponent(f); ok {
			comps = append(comps, c)
		}
	}
	comps = append(comps, imgs...)
	bom.Components = &comps
	// Encoded once with a placeholder serial, which the document's own
	// digest then replaces (encoding is the bill's main cost).
	bom.SerialNumber = placeholder
	body, err := encode(bom)
	if err != nil {
		return nil, err
	}
	return bytes.Replace(body, []byte(placeholder), []byte(serial(body)), 1), nil
}

// placeholder stands for the serial number until the document is known; a
// real serial is never all zeros.
const placeholder = "urn:uuid:00000000-0000-0000-0000-000000000000"

func encode(bom *cdx.BOM) ([]byte, error) {
	var buf bytes.Buffer
	if bom.Components != nil {
		buf.Grow(300 * len(*bom.Components)) // about what a file takes
	}
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(false).SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, fmt.Errorf("encoding the bill of materials: %w", err)
	}
	return buf.Bytes(), nil
}

// serial is a name-based UUID (version 5 layout, SHA-256 truncated) of the
// document with the placeholder, so two builds of one input share it.
func serial(body []byte) string {
	h := sha256.Sum256(body)
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func metadata(in Input) *cdx.Metadata {
	name := in.Labels[payload.LabelTitle]
	if name == "" {
		name = in.Name
	}
	m := &cdx.Metadata{Component: &cdx.Component{
		BOMRef: "installer", Type: cdx.ComponentTypeApplication, Name: name,
		Version: in.Labels[payload.LabelVersion], Description: "sealpack installer",
		Properties: &[]cdx.Property{{Name: PropPlatform, Value: in.Platform}},
	}}
	return m
}

// fileComponent lists a regular file (path, sha256, mode) or a symlink
// (path, target); directories carry no content and are left out.
func fileComponent(f payload.File) (cdx.Component, bool) {
	c := cdx.Component{BOMRef: "file:" + f.Path, Type: cdx.ComponentTypeFile, Name: f.Path}
	props := []cdx.Property{{Name: PropMode, Value: fmt.Sprintf("%04o", uint32(f.Mode.Perm()))}}
	switch f.Type {
	case payload.TypeFile:
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(f.Digest, "sha256:")}}
	case payload.TypeSymlink:
		props = append(props, cdx.Property{Name: PropType, Value: "symlink"}, cdx.Property{Name: PropTarget, Value: f.Target})
	default:
		return cdx.Component{}, false
	}
	c.Properties = &props
	return c, true
}
