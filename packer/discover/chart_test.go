package discover

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFindPackagedChart(t *testing.T) {
	root := t.TempDir()
	packChart(t, "testdata/charts/app", "app", filepath.Join(root, "charts", "app-0.1.0.tgz"))
	// A .tgz that is not a chart (CNI plugins, binaries) is left alone.
	packChart(t, "testdata/kinds", "cni", filepath.Join(root, "bin", "cni-plugins.tgz"))
	if err := os.WriteFile(filepath.Join(root, "bin", "garbage.tar.gz"), []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Find(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker.io/example/hook:1",
		"docker.io/example/kube-new:1",
		"docker.io/example/sub-on:1",
		"docker.io/library/busybox:1.36",
		"ghcr.io/example/app:2.5.0",
	}
	if got := r.Refs(); !slices.Equal(got, want) {
		t.Errorf("images:\n got %q\nwant %q", got, want)
	}
	if s := r.Images[4].Sources[0]; s.File != "charts/app-0.1.0.tgz" || s.Template != "app/templates/deployment.yaml" {
		t.Errorf("source = %+v", s)
	}
}

func TestFindSkipsSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeFile(t, outside, "outside.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: o}\nspec: {containers: [{name: o, image: example/outside:1}]}\n")
	writeFile(t, root, "manifests/real.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: r}\nspec: {containers: [{name: r, image: example/real:1}]}\n")
	if err := os.Symlink(filepath.Join(outside, "outside.yaml"), filepath.Join(root, "manifests", "link.yaml")); err != nil {
		t.Skip(err)
	}
	r, err := Find(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Refs(), []string{"docker.io/example/real:1"}; !slices.Equal(got, want) {
		t.Errorf("images = %q, want %q", got, want)
	}
}

func TestIsChartArchive(t *testing.T) {
	dir := t.TempDir()
	packChart(t, "testdata/charts/app", "app", filepath.Join(dir, "chart.tgz"))
	packChart(t, "testdata/kinds", "x", filepath.Join(dir, "other.tgz"))
	for name, want := range map[string]bool{"chart.tgz": true, "other.tgz": false, "missing.tgz": false} {
		if got := isChartArchive(os.DirFS(dir), name); got != want {
			t.Errorf("isChartArchive(%s) = %v, want %v", name, got, want)
		}
	}
}
