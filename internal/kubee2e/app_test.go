package kubee2e

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// echoImage is the application's image, under a canonical Docker Hub name:
// the build pulls it through --registry-mirror from a loopback registry
// that is gone before the install starts.
const echoImage = "docker.io/sealpack/echo:1.0"

// startRegistry serves an in-memory registry on loopback until the test ends.
func startRegistry(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// pushEcho builds testdata/echo as a static binary and pushes a one-layer
// image of it to the registry at addr, as sealpack/echo:1.0.
func pushEcho(t *testing.T, addr string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/echo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the echo app: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "echo", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config = v1.Config{Entrypoint: []string{"/echo"}, Cmd: []string{"serve"}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(addr+"/sealpack/echo:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// buildApp builds the application installer, version 1.0.0, FROM the base,
// with the repository's own bin/sealpack, and returns its path.
func buildApp(t *testing.T, root, base, registry string) string {
	return buildAppVersion(t, root, base, registry, "1.0.0")
}

func buildAppVersion(t *testing.T, root, base, registry, version string) string {
	t.Helper()
	ctx := t.TempDir()
	kf, err := os.ReadFile("testdata/app/Kubefile.in")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("@BASE@", base, "@VERSION@", version).Replace(string(kf))
	os.WriteFile(filepath.Join(ctx, "Kubefile"), []byte(text), 0o644)
	if out, err := exec.Command("cp", "-r", "testdata/app/manifests", ctx).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out := filepath.Join(t.TempDir(), "echo-"+version+".run")
	cmd := exec.Command(sealpackBin(root), "build", "-q",
		"--registry-mirror", "docker.io=http://"+registry, "-o", out, ctx)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sealpack build of the app FROM %s: %v\n%s", base, err, b)
	}
	return out
}
