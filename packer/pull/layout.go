package pull

import (
	"encoding/json"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and annotations of the OCI image layout in the rootfs (every part of
// sealpack relies on them).
const (
	LayoutDir     = "images"
	LayoutFile    = LayoutDir + "/oci-layout"
	IndexFile     = LayoutDir + "/index.json"
	BlobDir       = LayoutDir + "/blobs/sha256"
	AnnotationRef = "io.containerd.image.name"
	AnnotationTag = "org.opencontainers.image.ref.name"
)

var ociLayout = []byte(`{"imageLayoutVersion":"1.0.0"}` + "\n")

// blobPath is where a blob lives in the rootfs.
func blobPath(digest string) string { return BlobDir + "/" + strings.TrimPrefix(digest, "sha256:") }

// indexJSON is images/index.json: one entry per carried image, named by
// annotations.
func indexJSON(res []*resolved) ([]byte, error) {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	for _, r := range res {
		d := r.desc
		d.Annotations = map[string]string{AnnotationRef: r.ref.name}
		if r.ref.tag != "" {
			d.Annotations[AnnotationTag] = r.ref.tag
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	return append(b, '\n'), err
}
