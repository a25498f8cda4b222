package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sealpack/sealpack/payload"
)

// Artifact types of the referrers a push attaches to an installer's
// manifest, so that a registry-side policy finds them by the referrers API
// (or its tag fallback) without pulling the installer.
const (
	SBOMType      = "application/vnd.cyclonedx+json"        // the bill of materials, as stored
	SignatureType = "application/vnd.dsse.envelope.v1+json" // the signature block: a DSSE envelope
)

// emptyConfig is OCI 1.1's empty descriptor's content.
var emptyConfig = []byte("{}")

// doc is one document an installer carries about itself.
type doc struct {
	artifactType string
	data         []byte
}

// docs returns the installer's bill of materials and signature, those it has.
func docs(r *payload.Reader) ([]doc, error) {
	var out []doc
	switch bill, err := r.SBOM(); {
	case err == nil:
		out = append(out, doc{SBOMType, bill})
	case !errors.Is(err, payload.ErrNoSBOM):
		return nil, fmt.Errorf("its bill of materials: %w", err)
	}
	sig, err := r.Signature()
	if err != nil {
		return nil, fmt.Errorf("its signature block: %w", err)
	}
	if len(sig) > 0 {
		out = append(out, doc{SignatureType, sig})
	}
	return out, nil
}

// putReferrers pushes each document of a as a manifest whose subject is a's
// manifest, and returns the referrers' digests and the documents' bytes.
func putReferrers(ctx context.Context, p *remote.Pusher, repo name.Repository, a *built) ([]string, int64, error) {
	ds, err := docs(a.src.r)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", a.src.path, err)
	}
	subject := &v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: a.digest, Size: int64(len(a.manifest)),
		ArtifactType: ArtifactType}
	cfg := static.NewLayer(emptyConfig, types.MediaType("application/vnd.oci.empty.v1+json"))
	if len(ds) > 0 {
		if err := p.Upload(ctx, repo, cfg); err != nil {
			return nil, 0, fmt.Errorf("the referrers' empty config: %w", err)
		}
	}
	var out []string
	var n int64
	for _, d := range ds {
		layer := static.NewLayer(d.data, types.MediaType(d.artifactType))
		if err := p.Upload(ctx, repo, layer); err != nil {
			return nil, 0, fmt.Errorf("%s of %s: %w", d.artifactType, a.src.path, err)
		}
		m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: d.artifactType,
			Config:  descriptorOf("application/vnd.oci.empty.v1+json", emptyConfig),
			Layers:  []v1.Descriptor{descriptorOf(types.MediaType(d.artifactType), d.data)},
			Subject: subject}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, 0, err
		}
		dg := descriptorOf("", raw).Digest.String()
		if err := p.Put(ctx, repo.Digest(dg), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
			return nil, 0, fmt.Errorf("the %s referrer of %s: %w", d.artifactType, a.src.path, err)
		}
		out = append(out, dg)
		n += int64(len(d.data))
	}
	return out, n, nil
}
