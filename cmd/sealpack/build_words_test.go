package main

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fakeStubs points the build at an installer program that is only bytes:
// these builds are not run.
func fakeStubs(t *testing.T) {
	stubs := t.TempDir()
	os.WriteFile(filepath.Join(stubs, "stub-linux-amd64"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv(stubDirEnv, stubs)
}

// TestBuildDryRunSaysRunRuns: a dry run still runs RUN instructions (what
// they write may name images) and says so on stderr; stdout stays the list.
func TestBuildDryRunSaysRunRuns(t *testing.T) {
	fakeStubs(t)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(`FROM scratch
RUN mkdir -p manifests && printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: "quay.io/acme/made-by-run:1"}]\n' > manifests/pod.yaml
`), 0o644)
	stdout, stderr, err := sealpack(t, "build", "--dry-run", "--platform", "linux/amd64", ctxDir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if stdout != "quay.io/acme/made-by-run:1\n" {
		t.Errorf("stdout = %q, want the image the RUN wrote", stdout)
	}
	if !strings.Contains(stderr, "dry run: RUN instructions run here as in a build, since what they write may name images") {
		t.Errorf("stderr does not say that RUN ran:\n%s", stderr)
	}
}

// TestBuildQuiet: -q prints no progress at all, the pull's lines included
// (seen: -q still printed "pull: ..." lines).
func TestBuildQuiet(t *testing.T) {
	fakeStubs(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(1<<10, 1)
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	img, _ = mutate.ConfigFile(img, cfg)
	ref, _ := name.ParseReference(host + "/library/app:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nRUN true\nIMAGE app:1\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	_, stderr, err := sealpack(t, "build", "-q", "--platform", "linux/amd64", "--registry-mirror", "docker.io=http://"+host, "-o", out, ctxDir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	if stderr != "" {
		t.Errorf("-q printed on stderr:\n%s", stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("no installer written: %v", err)
	}
}
