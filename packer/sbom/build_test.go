package sbom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/packer/sbom"
	"github.com/sealpack/sealpack/payload"
)

const kubefile = `FROM scratch
LABEL org.opencontainers.image.title="bill app" org.opencontainers.image.version=3.1.0
COPY bin /bin/
RUN mkdir -p etc/empty && ln -s ../bin/tool etc/tool-link
IMAGE docker.io/acme/api:2
IMAGE docker.io/library/nginx:1.27
`

// site is a loopback registry standing in for Docker Hub: acme/api:2 (one
// manifest) with an SPDX attestation as its OCI referrer, and nginx:1.27,
// an index of two platforms.
type site struct {
	mirror      string
	api, nginx  string // manifest digests
	attestation string // the referrer's manifest digest
	statement   string // its layer's digest
}

func newSite(t *testing.T, referrersAPI bool) site {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrersAPI)))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	s := site{mirror: "http://" + host}
	api := platformImage(t, "amd64")
	s.api = write(t, host+"/acme/api:2", api)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platformImage(t, "amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platformImage(t, "arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, _ := name.ParseReference(host + "/library/nginx:1.27")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	s.nginx = d.String()
	s.attestation, s.statement = attest(t, host+"/acme/api", api)
	return s
}

func platformImage(t testing.TB, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

func write(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

// attest pushes an SPDX document as an artifact whose subject is img, as
// `oras attach` or `cosign attest` do.
func attest(t *testing.T, repo string, img v1.Image) (manifest, layer string) {
	t.Helper()
	subj, err := partialDescriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	doc := static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3","name":"api"}`), "application/spdx+json")
	art, err := mutate.AppendLayers(empty.Image, doc)
	if err != nil {
		t.Fatal(err)
	}
	art = mutate.MediaType(art, types.OCIManifestSchema1)
	art = mutate.ConfigMediaType(art, "application/vnd.oci.empty.v1+json")
	art = mutate.Subject(art, subj).(v1.Image)
	r, _ := name.NewRepository(repo)
	d, _ := art.Digest()
	if err := remote.Write(r.Digest(d.String()), art); err != nil {
		t.Fatal(err)
	}
	ld, _ := doc.Digest()
	return d.String(), ld.String()
}

func partialDescriptor(img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, _ := img.Size()
	mt, _ := img.MediaType()
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}

func stub(string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("#!/bin/sh\nexit 0\n")), nil
}

func build(t *testing.T, s site, ctxDir, out, cache string, noSBOM bool) {
	t.Helper()
	var logs bytes.Buffer
	opts := packer.BuildOptions{ContextDir: ctxDir, Output: out, Platform: "linux/amd64", Stub: stub, TempDir: t.TempDir(), Log: &logs, NoSBOM: noSBOM,
		Images: packer.NewImageStep(packer.ImageOptions{Pull: pull.Options{Mirrors: map[string]string{"docker.io": s.mirror}, CacheDir: cache, Retries: -1}})}
	if _, err := packer.Build(context.Background(), opts); err != nil {
		t.Fatalf("build: %v\n%s", err, logs.String())
	}
}

func buildContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range map[string]string{"Kubefile": kubefile, "bin/tool": "#!/bin/sh\necho tool\n", "bin/sub/data.txt": "data\n"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBillOfBuild builds an installer with files, a symlink, directories
// and two images from a loopback registry (one with an attestation), with
// the registry answering the referrers API and without it (the tag-schema
// fallback). The bill validates against CycloneDX 1.5, lists exactly the
// files and images inspect lists, and lists the carried attestation; a
// second build gives the same bytes.
func TestBillOfBuild(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers-api", false: "tag-fallback"}[api], func(t *testing.T) {
			s := newSite(t, api)
			ctxDir, dir, cache := buildContext(t), t.TempDir(), t.TempDir()
			a, b := filepath.Join(dir, "a.run"), filepath.Join(dir, "b.run")
			build(t, s, ctxDir, a, cache, false)
			build(t, s, ctxDir, b, cache, false)
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			if !bytes.Equal(da, db) {
				t.Error("two builds from the same inputs differ")
			}
			r, err := payload.Open(a)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			bill, err := r.SBOM()
			if err != nil {
				t.Fatal(err)
			}
			sbom.Validate(t, bill)
			var doc sbom.Doc
			if err := json.Unmarshal(bill, &doc); err != nil {
				t.Fatal(err)
			}
			sameAsInspect(t, doc, r.Report())
			carriesAttestation(t, doc, r, s)
		})
	}
}

// sameAsInspect checks that the bill lists exactly the files (directories
// aside) and images of inspect --json, with the same digests and modes.
func sameAsInspect(t *testing.T, doc sbom.Doc, rep *payload.Report) {
	t.Helper()
	files, images := doc.Split()
	var want, symlinks int
	for _, f := range rep.Files {
		if f.Type == payload.TypeDir {
			continue
		}
		want++
		c, ok := files[f.Path]
		switch {
		case !ok:
			t.Errorf("inspect lists %s, the bill does not", f.Path)
		case c.Prop(sbom.PropMode) != f.Mode:
			t.Errorf("%s: mode %s in the bill, %s in inspect", f.Path, c.Prop(sbom.PropMode), f.Mode)
		case f.Type == payload.TypeSymlink:
			symlinks++
			if c.Prop(sbom.PropTarget) != f.Target {
				t.Errorf("%s: target %q, inspect %q", f.Path, c.Prop(sbom.PropTarget), f.Target)
			}
		}
	}
	if len(files) != want || symlinks != 1 {
		t.Errorf("the bill lists %d files (%d symlinks), inspect %d", len(files), symlinks, want)
	}
	if len(images) != len(rep.Images) || len(images) != 2 {
		t.Errorf("the bill lists %d images, inspect %d", len(images), len(rep.Images))
	}
	for _, im := range rep.Images {
		if c, ok := images[im.Name]; !ok || "sha256:"+c.Hash() != im.Digest || c.Prop(sbom.PropPlatform) != im.Platform {
			t.Errorf("image %s %s (%s): the bill has %+v", im.Name, im.Digest, im.Platform, c)
		}
	}
}

// carriesAttestation checks that the attestation is carried (its manifest
// and document under images/) and listed under its image.
func carriesAttestation(t *testing.T, doc sbom.Doc, r *payload.Reader, s site) {
	t.Helper()
	_, images := doc.Split()
	api := images["docker.io/acme/api:2"]
	if len(api.Components) != 1 {
		t.Fatalf("acme/api: %d nested components, want its attestation", len(api.Components))
	}
	att := api.Components[0]
	if att.Version != s.attestation || att.Prop(sbom.PropArtifactType) != "application/spdx+json" || att.Prop(sbom.PropSubject) != s.api {
		t.Errorf("attestation %+v, want %s of subject %s", att, s.attestation, s.api)
	}
	for _, d := range []string{s.attestation, s.statement} {
		if _, ok := r.File(pull.BlobDir + "/" + strings.TrimPrefix(d, "sha256:")); !ok {
			t.Errorf("the installer does not carry %s", d)
		}
	}
	if n := images["docker.io/library/nginx:1.27"]; len(n.Components) != 1 || n.Components[0].Prop(sbom.PropPlatform) != "linux/amd64" {
		t.Errorf("nginx: want its linux/amd64 manifest nested, got %+v", n.Components)
	}
}

// TestNoBill: an installer without a bill (built before it existed, here
// with the hidden NoSBOM) says so.
func TestNoBill(t *testing.T) {
	s := newSite(t, true)
	out := filepath.Join(t.TempDir(), "old.run")
	build(t, s, buildContext(t), out, t.TempDir(), true)
	r, err := payload.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.SBOM(); !errors.Is(err, payload.ErrNoSBOM) {
		t.Errorf("SBOM() = %v, want ErrNoSBOM", err)
	}
	var text bytes.Buffer
	r.Report().WriteText(&text)
	if !strings.Contains(text.String(), "Bill of materials:  none") {
		t.Errorf("inspect does not say there is no bill:\n%s", text.String())
	}
}
