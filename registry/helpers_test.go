package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sealpack/sealpack/payload"
)

// carry is one image to lay into a test payload.
type carry struct {
	name string        // full reference as carried
	img  v1.Image      // an image, or
	idx  v1.ImageIndex // an index, of which
	only []string      // only these platforms are carried (nil: all)
}

// blobSource is one blob of the layout: small JSON kept in memory, layers
// opened on demand.
type blobSource struct {
	digest string
	size   int64
	open   func() (io.ReadCloser, error)
	raw    bool
}

// layout collects the OCI image layout (images/...) of a payload the way the
// packer writes it: index.json with the names as annotations, one blob file
// per digest, layers stored raw.
type layout struct {
	t       testing.TB
	entries []map[string]any
	blobs   map[string]blobSource
	order   []string
	images  []payload.Image
}

func newLayout(t testing.TB) *layout { return &layout{t: t, blobs: map[string]blobSource{}} }

func (l *layout) addBytes(b []byte) string {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		l.t.Fatal(err)
	}
	l.addBlob(blobSource{digest: h.String(), size: int64(len(b)), open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
	return h.String()
}

func (l *layout) addBlob(b blobSource) {
	if _, ok := l.blobs[b.digest]; ok {
		return
	}
	l.blobs[b.digest] = b
	l.order = append(l.order, b.digest)
}

// must unwraps a fixture step; a failure there is a bug of the test itself.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("test fixture: %v", err))
	}
	return v
}

// addImage lays out the manifest, config and layers of img.
func (l *layout) addImage(img v1.Image) (digest string, size int64) {
	raw := must(img.RawManifest())
	l.addBytes(must(img.RawConfigFile()))
	for _, layer := range must(img.Layers()) {
		l.addBlob(blobSource{
			digest: must(layer.Digest()).String(),
			size:   must(layer.Size()),
			open:   layer.Compressed,
			raw:    true,
		})
	}
	return l.addBytes(raw), int64(len(raw))
}

// add carries one image or index under its name.
func (l *layout) add(c carry) {
	var desc map[string]any
	plat := ""
	switch {
	case c.img != nil:
		d, size := l.addImage(c.img)
		mt := must(c.img.MediaType())
		desc = map[string]any{"mediaType": mt, "digest": d, "size": size}
		cf := must(c.img.ConfigFile())
		plat = cf.OS + "/" + cf.Architecture
	default:
		im := must(c.idx.IndexManifest())
		var plats []string
		for _, m := range im.Manifests {
			p := m.Platform.OS + "/" + m.Platform.Architecture
			if c.only != nil && !contains(c.only, p) {
				continue
			}
			l.addImage(must(c.idx.Image(m.Digest)))
			plats = append(plats, p)
		}
		raw := must(c.idx.RawManifest())
		d := l.addBytes(raw)
		desc = map[string]any{"mediaType": must(c.idx.MediaType()), "digest": d, "size": len(raw)}
		plat = strings.Join(plats, ",")
	}
	ann := map[string]string{annotationName: c.name}
	named := must(reference.ParseNormalizedNamed(c.name))
	if tagged, ok := named.(reference.Tagged); ok {
		ann[annotationRef] = tagged.Tag()
	}
	desc["annotations"] = ann
	l.entries = append(l.entries, desc)
	l.images = append(l.images, payload.Image{Name: c.name, Digest: desc["digest"].(string), Platform: plat})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// write commits the layout (and extra rootfs files) into a new installer and
// opens it.
func (l *layout) write(dir string, extra map[string][]byte) *payload.Reader {
	t := l.t
	out := filepath.Join(dir, "app.run")
	w := must(payload.Create(out))
	if err := w.WriteStub(strings.NewReader("#!/bin/sh\necho stub\n")); err != nil {
		t.Fatal(err)
	}
	index := must(json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": l.entries}))
	files := map[string][]byte{"images/index.json": index, "images/oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}
	for k, v := range extra {
		files[k] = v
	}
	meta := payload.Meta{Platform: "linux/amd64", Images: l.images}
	for _, d := range []string{"images", "images/blobs", "images/blobs/sha256"} {
		meta.Files = append(meta.Files, payload.File{Path: d, Type: payload.TypeDir, Mode: 0o755})
	}
	var srcs []payload.Source
	var paths []string
	for p, b := range files {
		srcs = append(srcs, payload.Source{Name: p, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }})
		paths = append(paths, p)
	}
	for _, d := range l.order {
		b := l.blobs[d]
		comp := payload.Auto
		if b.raw {
			comp = payload.Never
		}
		srcs = append(srcs, payload.Source{Name: d, Open: b.open, Compress: comp})
		paths = append(paths, "images/blobs/sha256/"+strings.TrimPrefix(d, "sha256:"))
	}
	digests := must(w.Add(context.Background(), srcs))
	for i, p := range paths {
		if strings.HasPrefix(p, "images/blobs/") && digests[i] != "sha256:"+filepath.Base(p) {
			t.Fatalf("%s stored as %s", p, digests[i])
		}
		var size int64
		if bs, ok := l.blobs[digests[i]]; ok {
			size = bs.size
		} else {
			size = int64(len(files[p]))
		}
		meta.Files = append(meta.Files, payload.File{Path: p, Type: payload.TypeFile, Mode: 0o644, Size: size, Digest: digests[i]})
	}
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	r := must(payload.Open(out))
	t.Cleanup(func() { r.Close() })
	return r
}

// randomImage is an OCI image of random layers with a platform in its config.
func randomImage(t testing.TB, size int64, layers int64, os, arch string) v1.Image {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for range layers {
		img = must(mutate.AppendLayers(img, must(random.Layer(size, types.OCILayer))))
	}
	return withPlatform(img, os, arch)
}

// randomDockerImage is the same with Docker schema2 media types.
func randomDockerImage(t testing.TB, size int64, layers int64, os, arch string) v1.Image {
	return withPlatform(must(random.Image(size, layers)), os, arch)
}

func withPlatform(img v1.Image, os, arch string) v1.Image {
	cf := must(img.ConfigFile()).DeepCopy()
	cf.OS, cf.Architecture = os, arch
	return must(mutate.ConfigFile(img, cf))
}

// randomIndex is an index of one random image per platform ("linux/amd64").
func randomIndex(t testing.TB, platforms ...string) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		os, arch, _ := strings.Cut(p, "/")
		adds = append(adds, mutate.IndexAddendum{
			Add:        randomImage(t, 2048, 2, os, arch),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: os, Architecture: arch}},
		})
	}
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
}

// get fetches url with optional headers and returns status, headers, body.
func get(t testing.TB, method, url string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req := must(http.NewRequest(method, url, nil))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp := must(http.DefaultClient.Do(req))
	defer resp.Body.Close()
	body := must(io.ReadAll(resp.Body))
	return resp.StatusCode, resp.Header, body
}

// errorCode returns the first error code of a registry error body.
func errorCode(body []byte) string {
	var e struct {
		Errors []struct {
			Code   string `json:"code"`
			Detail any    `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// sha is the digest of b.
func sha(b []byte) string {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h.String()
}
