package artifact

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// TestFromRegistry: FROM a registry reference builds on the pushed base
// (its files, images, labels and CMDs inherited), and a second build FROM
// the same tag takes the base from the cache, fetching no layer.
func TestFromRegistry(t *testing.T) {
	reg := newRegistry(t, "", "")
	o := access(t, reg, "", "")
	files := someFiles(10)
	img := ociLayout(files, "docker.io/library/app:1")
	meta := payload.Meta{Platform: "linux/amd64", Labels: map[string]string{payload.LabelTitle: "base"}, Cmds: []string{"echo base"}, Images: []payload.Image{img}}
	base := writeWithMeta(t, t.TempDir(), meta, files, 0)
	br, err := payload.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	f, _ := br.File("images/blobs/layera.gz")
	ref := reg.host + "/bases/k8s:v1.34"
	if _, err := Push(context.Background(), ref, []string{base}, o); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	bases := Fetcher(cache, o)
	kubefile := "FROM " + ref + "\nLABEL org.opencontainers.image.title=app\nCOPY app.yaml /manifests/\nCMD echo app\n"
	for i := range 2 {
		reg.reset()
		out := buildKubefile(t, kubefile, map[string][]byte{"app.yaml": []byte("kind: ConfigMap\n")}, bases)
		r, err := payload.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		idx := r.Index()
		cf, ok := r.File("images/blobs/layera.gz")
		if !ok || cf.Digest != f.Digest || len(idx.Images) != 1 || idx.Images[0].Name != img.Name {
			t.Errorf("build %d: the base's files and images are not carried: %+v %+v", i, cf, idx.Images)
		}
		if _, ok := r.File("manifests/app.yaml"); !ok || strings.Join(idx.Cmds, ";") != "echo base;echo app" || idx.Labels[payload.LabelTitle] != "app" {
			t.Errorf("build %d: cmds %v labels %v", i, idx.Cmds, idx.Labels)
		}
		r.Close()
		if gets := reg.blobFetches(); i == 1 && len(gets) != 1 {
			t.Errorf("the second build fetched %d blobs (%v), want the config alone: the base is cached", len(gets), gets)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "installers", "*.run")); len(m) != 1 {
		t.Errorf("cache holds %v", m)
	}

	// A missing platform is the registry's word, with the Kubefile's line.
	_, err = Fetcher(cache, o)(context.Background(), ref, "linux/arm64")
	if err == nil || !strings.Contains(err.Error(), "the reference has linux/amd64") {
		t.Errorf("FROM for another platform: %v", err)
	}
}

// ociLayout adds an OCI layout under images/ to files: one image, name,
// whose layer is images/blobs/layera.gz's content.
func ociLayout(files map[string][]byte, name string) payload.Image {
	layer := files["images/blobs/layera.gz"]
	put := func(b []byte) string {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		files["images/blobs/sha256/"+d[7:]] = b
		return d
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}]}`,
		put(cfg), len(cfg), put(layer), len(layer))
	md := put([]byte(m))
	files["images/index.json"] = []byte(fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d,"annotations":{"io.containerd.image.name":%q}}]}`, md, len(m), name))
	files["images/oci-layout"] = []byte(`{"imageLayoutVersion":"1.0.0"}`)
	return payload.Image{Name: name, Digest: md, Platform: "linux/amd64", Size: int64(len(layer) + len(cfg) + len(m))}
}
