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

// testImage is an image laid out as the builder lays images into the
// rootfs (images/: oci-layout, one index.json naming every image, a file
// per blob, the layer stored raw).
type testImage struct {
	name             string
	manifest, config string // digests
	layerDigest      string
	layer            []byte
}

// addImage lays image name (a full reference) with a random layer of size
// bytes into files and returns it with its index entry.
func addImage(t testing.TB, files map[string]entry, name string, size int) (testImage, payload.Image) {
	t.Helper()
	layer := make([]byte, size)
	rand.Read(layer)
	imgs, carried := layImages(files, []string{name}, [][]byte{layer})
	return imgs[0], carried[0]
}

// layImages lays one image per name, each with its layer, into files, and
// returns them with their index entries.
func layImages(files map[string]entry, names []string, layers [][]byte) ([]testImage, []payload.Image) {
	blob := func(b []byte, raw bool) string {
		d := fmtDigest(b)
		e := entry{data: b}
		if raw {
			e.compress = payload.Never
		}
		files["images/blobs/sha256/"+d[len("sha256:"):]] = e
		return d
	}
	var imgs []testImage
	var carried []payload.Image
	var entries []any
	for i, name := range names {
		layer := layers[i]
		ld := blob(layer, true)
		cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{ld}}})
		cd := blob(cfg, false)
		man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": len(layer)}}})
		md := blob(man, false)
		entries = append(entries, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
			"annotations": map[string]string{"io.containerd.image.name": name}})
		imgs = append(imgs, testImage{name: name, manifest: md, config: cd, layerDigest: ld, layer: layer})
		carried = append(carried, payload.Image{Name: name, Digest: md, Platform: "linux/amd64", Size: int64(len(layer) + len(cfg) + len(man))})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
	files["images/index.json"] = entry{data: idx}
	files["images/oci-layout"] = bytesEntry(`{"imageLayoutVersion":"1.0.0"}`)
	return imgs, carried
}
