package packer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sealpack/sealpack/packer/pull"
)

// hub is a loopback registry standing in for Docker Hub through a mirror.
func hub(t *testing.T, repos ...string) (mirror string, digests map[string]string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	digests = map[string]string{}
	for _, repo := range repos {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", "amd64"
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(host + "/" + repo)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests["docker.io/"+repo] = d.String()
	}
	return "http://" + host, digests
}

func imageOpts(mirror string, cache string) ImageOptions {
	return ImageOptions{Pull: pull.Options{Mirrors: map[string]string{"docker.io": mirror}, CacheDir: cache, Retries: -1}}
}

func TestImagesDiscoveredPulledAndInherited(t *testing.T) {
	mirror, digests := hub(t, "library/nginx:1.27", "library/redis:7", "acme/api:2")
	cache := t.TempDir()

	// The base carries nginx, named by a manifest.
	baseCtx := t.TempDir()
	os.MkdirAll(filepath.Join(baseCtx, "manifests"), 0o755)
	os.WriteFile(filepath.Join(baseCtx, "manifests", "web.yaml"), []byte(`apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: web, image: nginx:1.27}]
`), 0o644)
	os.WriteFile(filepath.Join(baseCtx, "Kubefile"), []byte("FROM scratch\nCOPY manifests /manifests/\n"), 0o644)
	base := filepath.Join(t.TempDir(), "base.run")
	o := opts(baseCtx, base)
	o.Images = NewImageStep(imageOpts(mirror, cache))
	res := mustBuild(t, o)
	if len(res.Images) != 1 || res.Images[0].Name != "docker.io/library/nginx:1.27" || res.Images[0].Digest != digests["docker.io/library/nginx:1.27"] {
		t.Fatalf("base images = %+v", res.Images)
	}

	// The app adds redis (IMAGE line) and acme/api (images.txt) on top.
	appCtx := t.TempDir()
	os.WriteFile(filepath.Join(appCtx, "images.txt"), []byte("# the API\nacme/api:2\n"), 0o644)
	os.WriteFile(filepath.Join(appCtx, "Kubefile"), []byte("FROM "+base+"\nCOPY images.txt /etc/images.txt\nIMAGE redis:7\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	o = opts(appCtx, out)
	o.Images = NewImageStep(imageOpts(mirror, cache))
	res = mustBuild(t, o)
	var names []string
	for _, im := range res.Images {
		names = append(names, im.Name)
		if im.Digest != digests[im.Name] {
			t.Errorf("%s: digest %s, want %s", im.Name, im.Digest, digests[im.Name])
		}
	}
	want := []string{"docker.io/acme/api:2", "docker.io/library/nginx:1.27", "docker.io/library/redis:7"}
	if !slices.Equal(names, want) {
		t.Fatalf("images = %v, want %v", names, want)
	}
	r := open(t, out)
	idx := readFile(t, r, "images/index.json")
	for _, n := range want {
		if !strings.Contains(idx, n) {
			t.Errorf("images/index.json lacks %s:\n%s", n, idx)
		}
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestImagesDryRun(t *testing.T) {
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nIMAGE busybox quay.io/a/b:1\nIMAGE docker.io/library/busybox:latest\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	o := opts(ctxDir, out)
	var list bytes.Buffer
	io := imageOpts("http://127.0.0.1:1", "")
	io.DryRun = &list
	io.Ignore = []string{"quay.io/*"}
	o.Images = NewImageStep(io)
	o.Log = &bytes.Buffer{}
	_, err := Build(context.Background(), o)
	if !errors.Is(err, ErrDryRun) {
		t.Fatalf("err = %v, want ErrDryRun", err)
	}
	if got := list.String(); got != "docker.io/library/busybox:latest\n" {
		t.Errorf("dry-run list = %q", got)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a dry run wrote an installer")
	}
}

func TestImageMissingFailsAndWritesNothing(t *testing.T) {
	mirror, _ := hub(t, "library/nginx:1.27")
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nIMAGE nginx:9.99\n"), 0o644)
	outDir := t.TempDir()
	o := opts(ctxDir, filepath.Join(outDir, "app.run"))
	o.Images = NewImageStep(imageOpts(mirror, ""))
	o.Log = &bytes.Buffer{}
	_, err := Build(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "docker.io/library/nginx:9.99") {
		t.Fatalf("err = %v, want it to name the image", err)
	}
	if left := leftovers(t, outDir); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
