package pull

import (
	"encoding/json"
	"fmt"
	"sort"
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
func indexJSON(res []*resolved, base []byte) ([]byte, error) {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	pulled := map[string]bool{}
	for _, r := range res {
		d := r.desc
		d.Annotations = map[string]string{AnnotationRef: r.ref.name}
		if r.ref.tag != "" {
			d.Annotations[AnnotationTag] = r.ref.tag
		}
		if refs := referrerList(r); refs != "" {
			d.Annotations[AnnotationReferrers] = refs
		}
		idx.Manifests = append(idx.Manifests, d)
		pulled[r.ref.name] = true
	}
	// Images already carried (a FROM installer's) keep their entries unless
	// pulled again; their blobs are in the rootfs already.
	if len(base) > 0 {
		var b v1.IndexManifest
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, fmt.Errorf("the carried images/index.json: %w", err)
		}
		for _, d := range b.Manifests {
			if !pulled[d.Annotations[AnnotationRef]] {
				idx.Manifests = append(idx.Manifests, d)
			}
		}
		sort.SliceStable(idx.Manifests, func(i, j int) bool {
			return idx.Manifests[i].Annotations[AnnotationRef] < idx.Manifests[j].Annotations[AnnotationRef]
		})
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	return append(b, '\n'), err
}
