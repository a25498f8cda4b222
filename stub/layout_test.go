package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

func fmtDigest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// testImage is a small image laid out as the builder lays images into the
// rootfs (images/: oci-layout, index.json with the name as annotation, one
// file per blob, the layer stored raw).
type testImage struct {
	name     string
	manifest string // its digest
	layer    []byte
}

// addImage lays image name (a full reference) with a random layer of size
// bytes into files and returns it with its index entry.
func addImage(t testing.TB, files map[string]entry, name string, size int) (testImage, payload.Image) {
	t.Helper()
	layer := make([]byte, size)
	rand.Read(layer)
	blob := func(b []byte, raw bool) string {
		d := fmtDigest(b)
		e := entry{data: b}
		if raw {
			e.compress = payload.Never
		}
		files["images/blobs/sha256/"+d[len("sha256:"):]] = e
		return d
	}
	ld := blob(layer, true)
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{ld}}})
	cd := blob(cfg, false)
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": len(layer)}}})
	md := blob(man, false)
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
			"annotations": map[string]string{"io.containerd.image.name": name}}}})
	files["images/index.json"] = entry{data: idx}
	files["images/oci-layout"] = bytesEntry(`{"imageLayoutVersion":"1.0.0"}`)
	return testImage{name: name, manifest: md, layer: layer},
		payload.Image{Name: name, Digest: md, Platform: "linux/amd64", Size: int64(len(layer) + len(cfg) + len(man))}
}
