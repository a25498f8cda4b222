package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// upstream is a loopback registry with one image, standing in for Docker Hub.
func upstream(t *testing.T, repo string) (host, digest string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(4096, 3)
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	img, _ = mutate.ConfigFile(img, cfg)
	ref, _ := name.ParseReference(host + "/" + repo)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host, d.String()
}

// The installer serves the images it carries: a pull with go-containerregistry
// and with skopeo gets the source's digest; push copies them elsewhere.
func TestInstallerServesAndPushesImages(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	hub, digest := upstream(t, "library/nginx:1.27")
	dir, err := stubsOnce()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(stubDirEnv, dir)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nIMAGE nginx:1.27\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	if _, stderr, err := sealpack(t, "build", "-q", "--registry-mirror", "docker.io=http://"+hub, "-o", out, ctxDir); err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}

	// ./app.run registry --addr 127.0.0.1:0: it says which port it got.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, out, "registry", "--addr", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	m := regexp.MustCompile(`^serving 1 images on http://(127\.0\.0\.1:\d+) `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("registry said %q", line)
	}
	addr := m[1]
	ref, _ := name.ParseReference(addr+"/library/nginx:1.27", name.Insecure)
	desc, err := remote.Get(ref)
	if err != nil || desc.Digest.String() != digest {
		t.Fatalf("ggcr pull: %v, digest %v, want %s", err, desc, digest)
	}
	img, _ := desc.Image()
	layers, _ := img.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rc) // ggcr verifies the digest as it reads
		if err := rc.Close(); err != nil {
			t.Fatalf("layer: %v", err)
		}
	}
	if _, err := exec.LookPath("skopeo"); err == nil {
		sk := exec.Command("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://"+addr+"/library/nginx:1.27")
		b, err := sk.CombinedOutput()
		if err != nil || strings.TrimSpace(string(b)) != digest {
			t.Errorf("skopeo: %v %s, want %s", err, b, digest)
		}
		oci := filepath.Join(t.TempDir(), "oci")
		if b, err := exec.Command("skopeo", "copy", "--src-tls-verify=false", "docker://"+addr+"/library/nginx:1.27", "oci:"+oci+":x").CombinedOutput(); err != nil {
			t.Errorf("skopeo copy: %v %s", err, b)
		}
	} else {
		t.Log("skopeo not installed: pulled with go-containerregistry only")
	}
	// Not carried: the registry API's error, not a 500.
	missing, _ := name.ParseReference(addr+"/library/nginx:9.99", name.Insecure)
	if _, err := remote.Get(missing); err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("missing tag: %v", err)
	}

	// ./app.run push into another registry keeps the digest.
	dst := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer dst.Close()
	target := strings.TrimPrefix(dst.URL, "http://")
	if _, stderr, err := installer(t, out, "push", target); err != nil {
		t.Fatalf("push: %v\n%s", err, stderr)
	}
	pushed, _ := name.ParseReference(target+"/library/nginx:1.27", name.Insecure)
	if d, err := remote.Head(pushed); err != nil || d.Digest.String() != digest {
		t.Errorf("pushed: %v %v, want %s", d, err, digest)
	}
}

// A rebuild to the same output downloads no layer: it copies them from the
// installer it replaces, and the result is byte-identical.
func TestRebuildReusesLayers(t *testing.T) {
	dir, err := stubsOnce()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(stubDirEnv, dir)
	var blobGets atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobGets.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(1<<20, 3)
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	img, _ = mutate.ConfigFile(img, cfg)
	ref, _ := name.ParseReference(host + "/library/app:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nIMAGE app:1\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	build := func() []byte {
		blobGets.Store(0)
		if _, stderr, err := sealpack(t, "build", "-q", "--registry-mirror", "docker.io=http://"+host, "-o", out, ctxDir); err != nil {
			t.Fatalf("build: %v\n%s", err, stderr)
		}
		b, _ := os.ReadFile(out)
		return b
	}
	first := build()
	if blobGets.Load() < 3 {
		t.Fatalf("first build fetched %d blobs, want the 3 layers at least", blobGets.Load())
	}
	second := build()
	if n := blobGets.Load(); n > 1 { // the config may be fetched; no layer is
		t.Errorf("the rebuild fetched %d blobs, want no layer", n)
	}
	if !bytes.Equal(first, second) {
		t.Error("the rebuild is not byte-identical to the first build")
	}
}
