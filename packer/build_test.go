package packer

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("differs from %s (run with -update to accept):\n%s", path, got)
	}
}

func TestBuildBasic(t *testing.T) {
	ctxDir := testContext(t, "basic")
	if err := os.Chmod(filepath.Join(ctxDir, "manifests", "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "basic.run")
	o := opts(ctxDir, out)
	o.BuildArgs = map[string]string{"VERSION": "2.0.0", "UNUSED": "x"}
	var log bytes.Buffer
	o.Log = &log
	res := mustBuild(t, o)

	r := open(t, out)
	idx := r.Index()
	checkGolden(t, "basic.golden", listing(idx))
	if idx.Platform != "linux/amd64" || res.Platform != "linux/amd64" {
		t.Errorf("platform %q / %q", idx.Platform, res.Platform)
	}
	if got := readFile(t, r, "greeting.txt"); got != "hello there 2.0.0\n" {
		t.Errorf("RUN output %q", got)
	}
	if got := readFile(t, r, "opt/app/etc/app.conf"); got != "key = value\n" {
		t.Errorf("COPY content %q", got)
	}
	// A file named as compressed is stored raw, so it is one section.
	if f, _ := r.File("charts/app.tgz"); f == nil {
		t.Error("charts/app.tgz missing")
	} else if _, ok := r.Section(f.Digest); !ok {
		t.Error("charts/app.tgz was compressed; IsCompressed names must be stored raw")
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "--build-arg UNUSED") {
		t.Errorf("warnings %q, want one about UNUSED", res.Warnings)
	}
	if !strings.Contains(log.String(), "warning: ") || !strings.Contains(log.String(), "Step 14/14 : CMD") {
		t.Errorf("log lacks the warning or step lines:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "no image step: the images of 1 IMAGE reference") {
		t.Errorf("log does not say the IMAGE line is not carried:\n%s", log.String())
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if res.Files != len(idx.Files) || res.PayloadBytes != r.PayloadBytes() {
		t.Errorf("result %+v disagrees with the installer", res)
	}
}

// The same inputs give the same bytes, whatever the output's name or place,
// with or without RUN, and whatever the context files' times.
func TestDeterministic(t *testing.T) {
	for _, name := range []string{"basic", "base"} {
		t.Run(name, func(t *testing.T) {
			ctxDir := testContext(t, name)
			a := filepath.Join(t.TempDir(), "a.run")
			b := filepath.Join(t.TempDir(), "sub", "other-name.run")
			os.MkdirAll(filepath.Dir(b), 0o755)
			mustBuild(t, opts(ctxDir, a))
			// Touch every file: times are not part of the payload.
			filepath.Walk(ctxDir, func(p string, _ os.FileInfo, _ error) error {
				os.Chtimes(p, time0, time0)
				return nil
			})
			mustBuild(t, opts(ctxDir, b))
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			if !bytes.Equal(da, db) {
				t.Fatalf("two builds differ: %d and %d bytes", len(da), len(db))
			}
		})
	}
}

func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.run")
	// The demo takes its Kubernetes binary as a build argument.
	kube := filepath.Join(t.TempDir(), "kube")
	os.WriteFile(kube, []byte("#!/bin/sh\necho fake kubernetes\n"), 0o755)
	o := opts(filepath.Join("..", "testdata", "demo"), out)
	o.BuildArgs = map[string]string{"KUBERNETES_BIN": kube}
	mustBuild(t, o)
	r := open(t, out)
	idx := r.Index()
	if idx.Labels["org.opencontainers.image.title"] != "sealpack demo" || idx.Labels["org.opencontainers.image.version"] != "0.1.0" {
		t.Errorf("labels %v", idx.Labels)
	}
	if len(idx.Cmds) != 2 {
		t.Errorf("cmds %q, want 2", idx.Cmds)
	}
	for _, p := range []string{"bin/demo-hello", "bin/demo-check", "bin/kubeadm", "bin/kubectl", "bin/kubelet", "manifests/app/deployment.yaml", "etc/kubeadm.yaml", "scripts/init-host.sh", "share/build-info.txt"} {
		f, ok := r.File(p)
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		if strings.HasPrefix(p, "bin/") && f.Mode != 0o755 {
			t.Errorf("%s mode %o", p, f.Mode)
		}
	}
	if got := readFile(t, r, "share/build-info.txt"); got != "sealpack demo 0.1.0\nnamespace demo\n" {
		t.Errorf("build-info %q", got)
	}
	if !strings.Contains(readFile(t, r, "manifests/app/deployment.yaml"), "docker.io/library/nginx:1.27") {
		t.Error("deployment does not name nginx:1.27")
	}
}

func TestSplit(t *testing.T) {
	ctxDir := testContext(t, "base")
	writeRandom(t, filepath.Join(ctxDir, "share", "random.bin"), 3<<20)
	dir := t.TempDir()
	out := filepath.Join(dir, "split.run")
	o := opts(ctxDir, out)
	o.SplitSize = 1 << 20
	res := mustBuild(t, o)
	if len(res.Parts) < 2 {
		t.Fatalf("parts %q, want several", res.Parts)
	}
	for _, p := range res.Parts {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	r := open(t, out)
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, r, "share/data.txt"); got != "base data\n" {
		t.Errorf("data %q", got)
	}
}

// The output inside the context is never copied into itself.
func TestOutputInContext(t *testing.T) {
	ctxDir := testContext(t, "base")
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY . /ctx/\n"), 0o644)
	out := filepath.Join(ctxDir, "app.run")
	// A previous build and its stale part lie there too.
	os.WriteFile(out, []byte("old installer"), 0o755)
	os.WriteFile(out+".001", []byte("old part"), 0o644)
	mustBuild(t, opts(ctxDir, out))
	r := open(t, out)
	for _, f := range r.Index().Files {
		if strings.Contains(f.Path, "app.run") {
			t.Errorf("the installer carries %s", f.Path)
		}
	}
	if _, ok := r.File("ctx/share/data.txt"); !ok {
		t.Error("ctx/share/data.txt missing")
	}
}

func writeRandom(t testing.TB, path string, size int) {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(data)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644) // whatever the umask
}

func writeBig(t testing.TB, path string, size int) {
	t.Helper()
	var b bytes.Buffer
	words := []string{"alpha", "beta", "gamma", "kube", "node", "pod", "image", "layer"}
	for i := 0; b.Len() < size; i++ {
		b.WriteString(words[(i*7+i/3)%len(words)])
		if i%13 == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644) // whatever the umask
}
