package packer

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// The image step sees the final rootfs (context files, FROM blobs, RUN
// output) as an fs.FS, gets the IMAGE lines with positions, and what it
// returns lands in the installer.
func TestImageStep(t *testing.T) {
	base := buildBase(t)
	ctxDir := t.TempDir()
	os.MkdirAll(filepath.Join(ctxDir, "manifests"), 0o755)
	os.WriteFile(filepath.Join(ctxDir, "manifests", "app.yaml"), []byte("image: docker.io/library/nginx:1.27\n"), 0o644)
	kf := "FROM " + base + "\nCOPY manifests /manifests/\nRUN ln -s manifests m && mkdir -p images && echo old > images/index.json\nARG TAG=3.9\nIMAGE registry.k8s.io/pause:${TAG} \\\n  quay.io/x/y:1\n"
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(kf), 0o644)
	out := filepath.Join(t.TempDir(), "img.run")
	o := opts(ctxDir, out)
	// The stand-in step below names an image it does not store: no bill
	// of materials can describe it (TestBillOfBuild covers the bill).
	o.NoSBOM = true
	var seenLines []ImageLine
	var seenInherited []payload.Image
	o.Images = func(ctx context.Context, req ImageRequest) (ImageResult, error) {
		seenLines, seenInherited = req.Lines, req.Inherited
		if err := fstest.TestFS(req.Rootfs, "manifests/app.yaml", "m", "share/big.txt", "bin/tool", "tool-link", "images/index.json"); err != nil {
			t.Error(err)
		}
		data, err := fs.ReadFile(req.Rootfs, "m/app.yaml") // through the symlink RUN made
		if err != nil || !strings.Contains(string(data), "nginx:1.27") {
			t.Errorf("reading through a symlink: %q, %v", data, err)
		}
		if data, err := fs.ReadFile(req.Rootfs, "share/data.txt"); err != nil || string(data) != "base data\n" {
			t.Errorf("reading a FROM file: %q, %v", data, err)
		}
		dir, err := req.Materialize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(filepath.Join(dir, "manifests", "app.yaml")); err != nil || !strings.Contains(string(data), "nginx") {
			t.Errorf("materialized rootfs: %q, %v", data, err)
		}
		idx := `{"schemaVersion":2,"manifests":[]}`
		digests, err := req.Writer.Add(ctx, []payload.Source{{Name: "index.json", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(idx)), nil
		}}})
		if err != nil {
			return ImageResult{}, err
		}
		return ImageResult{
			Files:  []payload.File{{Path: "images/index.json", Type: payload.TypeFile, Mode: 0o644, Size: int64(len(idx)), Digest: digests[0]}},
			Images: []payload.Image{{Name: "registry.k8s.io/pause:3.9", Digest: "sha256:" + strings.Repeat("a", 64), Platform: "linux/amd64", Size: 1}},
		}, nil
	}
	mustBuild(t, o)
	want := []ImageLine{
		{Ref: "registry.k8s.io/pause:3.9", Pos: kubefile.Pos{File: filepath.Join(ctxDir, "Kubefile"), Line: 5}},
		{Ref: "quay.io/x/y:1", Pos: kubefile.Pos{File: filepath.Join(ctxDir, "Kubefile"), Line: 5}},
	}
	if !reflect.DeepEqual(seenLines, want) {
		t.Errorf("lines %+v, want %+v", seenLines, want)
	}
	if len(seenInherited) != 0 {
		t.Errorf("inherited %+v", seenInherited)
	}
	r := open(t, out)
	if got := readFile(t, r, "images/index.json"); !strings.Contains(got, "schemaVersion") {
		t.Errorf("images/index.json %q: the step's file must replace the rootfs one", got)
	}
	if imgs := r.Index().Images; len(imgs) != 1 || imgs[0].Name != "registry.k8s.io/pause:3.9" {
		t.Errorf("images %+v", imgs)
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// An image step's error fails the build, and nothing is written.
func TestImageStepError(t *testing.T) {
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nIMAGE nope/nope:1\n"), 0o644)
	outDir := t.TempDir()
	o := opts(ctxDir, filepath.Join(outDir, "x.run"))
	o.Images = func(ctx context.Context, req ImageRequest) (ImageResult, error) {
		return ImageResult{}, kubefile.Errorf(req.Lines[0].Pos, "pulling %s: unauthorized", req.Lines[0].Ref)
	}
	_, err := Build(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "Kubefile:2: pulling nope/nope:1: unauthorized") {
		t.Fatalf("error %v", err)
	}
	if left := leftovers(t, outDir); len(left) > 0 {
		t.Errorf("left: %q", left)
	}
}

// The rootfs view of a scratch build with COPY only (files read from the
// context where they are).
func TestRootFSContext(t *testing.T) {
	ctxDir := testContext(t, "basic")
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY . /\n"), 0o644)
	os.Symlink("../etc/app.conf", filepath.Join(ctxDir, "bin", "conf"))
	os.Symlink("/etc", filepath.Join(ctxDir, "abs"))
	b, err := newBuilder(opts(ctxDir, filepath.Join(t.TempDir(), "x.run")))
	if err != nil {
		t.Fatal(err)
	}
	b.excluded = func(string) bool { return false }
	if err := b.copy(&kubefile.Copy{Sources: []string{"."}, Dest: "/"}); err != nil {
		t.Fatal(err)
	}
	fsys := b.fsys()
	if err := fstest.TestFS(fsys, "bin/one.sh", "bin/conf", "abs", "manifests/sub/b.yaml"); err != nil {
		t.Fatal(err)
	}
	b.root.put("loop", &entry{typ: payload.TypeSymlink, mode: 0o777, target: "loop"}, false)
	if data, err := fs.ReadFile(fsys, "abs/app.conf"); err != nil || string(data) != "key = value\n" {
		t.Errorf("absolute symlink resolves in the rootfs: %q %v", data, err)
	}
	if _, err := fs.ReadFile(fsys, "loop"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("symlink loop: %v", err)
	}
	if target, err := fs.ReadLink(fsys, "bin/conf"); err != nil || target != "../etc/app.conf" {
		t.Errorf("ReadLink %q %v", target, err)
	}
}
