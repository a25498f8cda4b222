package packer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// buildKubefile builds an installer from a Kubefile and files (path ->
// content) in a new context.
func buildKubefile(t *testing.T, o BuildOptions, kubefile string, files map[string]string) string {
	t.Helper()
	ctxDir := t.TempDir()
	for p, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(ctxDir, p)), 0o755)
		os.WriteFile(filepath.Join(ctxDir, p), []byte(content), 0o644)
	}
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(kubefile), 0o644)
	if o.Output == "" {
		o.Output = filepath.Join(t.TempDir(), "out.run")
	}
	if o.Platform == "" {
		o.Platform = "linux/amd64"
	}
	o.ContextDir, o.Stub, o.TempDir = ctxDir, fakeStub, os.TempDir()
	mustBuild(t, o)
	return o.Output
}

// randomString is n bytes that do not compress.
func randomString(t *testing.T, n int) string {
	p := filepath.Join(t.TempDir(), "r")
	writeRandom(t, p, n)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pod(name, image string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  containers: [{name: c, image: " + image + "}]\n"
}

// mergeSet is a base carrying nginx and 6 MiB of random bytes, and two apps
// FROM it: one adds redis, the other acme/api.
func mergeSet(t *testing.T) (base, a, b string) {
	mirror, _ := hub(t, "library/nginx:1.27", "library/redis:7", "acme/api:2")
	cache := t.TempDir()
	img := func() BuildOptions { return BuildOptions{Images: NewImageStep(imageOpts(mirror, cache))} }
	base = buildKubefile(t, img(), "FROM scratch\nLABEL org.opencontainers.image.title=base\nCOPY manifests /manifests/\nCOPY big.bin /share/big.bin\nCMD kubectl apply -f manifests/web.yaml\n",
		map[string]string{"manifests/web.yaml": pod("web", "nginx:1.27"), "big.bin": randomString(t, 6<<20)})
	a = buildKubefile(t, img(), "FROM "+base+"\nLABEL org.opencontainers.image.title=db org.opencontainers.image.version=1.0\nENV TIER=db\nCOPY db.yaml /manifests/db.yaml\nCMD kubectl apply -f manifests/db.yaml\nAPP db local://db.yaml\n",
		map[string]string{"db.yaml": pod("db", "redis:7")})
	b = buildKubefile(t, img(), "FROM "+base+"\nLABEL org.opencontainers.image.title=api org.opencontainers.image.version=2.0\nENV TIER=api\nCOPY api.yaml /manifests/api.yaml\nCMD kubectl apply -f manifests/api.yaml\nAPP api local://api.yaml\nAPP tools local://tools.sh\nLAUNCH [\"api\"]\n",
		map[string]string{"api.yaml": pod("api", "acme/api:2"), "tools.sh": "echo tools\n"})
	return base, a, b
}

func TestMerge(t *testing.T) {
	_, a, b := mergeSet(t)
	out := filepath.Join(t.TempDir(), "c.run")
	before := readChars(t)
	res, err := Merge(context.Background(), MergeOptions{Inputs: []string{a, b}, Output: out, Stub: fakeStub})
	read := readChars(t) - before
	if err != nil {
		t.Fatal(err)
	}
	ra, rb, rc := open(t, a), open(t, b), open(t, out)
	idx := rc.Index()
	if err := rc.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// CMD lines in the order given, the base's once; labels and ENV of the last.
	wantCmds := []string{"kubectl apply -f manifests/web.yaml", "kubectl apply -f manifests/db.yaml", "kubectl apply -f manifests/api.yaml"}
	if !slices.Equal(idx.Cmds, wantCmds) || !slices.Equal(res.Cmds, wantCmds) {
		t.Errorf("cmds = %q, want %q", idx.Cmds, wantCmds)
	}
	if idx.Labels["org.opencontainers.image.title"] != "api" || idx.Labels["org.opencontainers.image.version"] != "2.0" {
		t.Errorf("labels = %v, want the last installer's", idx.Labels)
	}
	if !slices.Equal(idx.Env, []string{"TIER=api"}) {
		t.Errorf("env = %q, want the last value of TIER", idx.Env)
	}
	// The apps of both, and their default launches one after the other.
	if got := idx.AppNames(); !slices.Equal(got, []string{"db", "api", "tools"}) {
		t.Errorf("apps = %v, want db, api, tools", got)
	}
	if !slices.Equal(idx.Launch, []string{"db", "api"}) {
		t.Errorf("launch = %v, want db then api", idx.Launch)
	}
	// The union of files (each path with the content of its input) and images.
	for _, in := range []*payload.Reader{ra, rb} {
		for _, f := range in.Index().Files {
			got, ok := rc.File(f.Path)
			if !ok {
				t.Errorf("%s is missing from the merged installer", f.Path)
				continue
			}
			if f.Path != "images/index.json" && (got.Digest != f.Digest || got.Mode != f.Mode || got.Type != f.Type) {
				t.Errorf("%s: %+v, want %+v", f.Path, got, f)
			}
		}
	}
	var names []string
	for _, im := range idx.Images {
		names = append(names, im.Name)
	}
	slices.Sort(names)
	if want := []string{"docker.io/acme/api:2", "docker.io/library/nginx:1.27", "docker.io/library/redis:7"}; !slices.Equal(names, want) {
		t.Errorf("images = %v, want %v", names, want)
	}
	layout := readFile(t, rc, "images/index.json")
	for _, n := range names {
		if !strings.Contains(layout, n) {
			t.Errorf("images/index.json lacks %s:\n%s", n, layout)
		}
	}
	// A bill of the merged installer: every file and image of it.
	raw, err := rc.SBOM()
	if err != nil {
		t.Fatalf("the merged installer's bill: %v", err)
	}
	var bill struct {
		Components []struct{ Name string } `json:"components"`
	}
	if err := json.Unmarshal(raw, &bill); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range bill.Components {
		listed[c.Name] = true
	}
	for _, f := range idx.Files {
		if f.Type == payload.TypeFile && !listed[f.Path] {
			t.Errorf("the bill does not list %s", f.Path)
		}
	}
	for _, n := range names {
		if !listed[n] && !listed[strings.SplitN(n, ":", 2)[0]] {
			t.Errorf("the bill does not list image %s", n)
		}
	}
	// Copied as stored: each blob's chunks are the input's, byte for byte.
	for _, f := range idx.Files {
		if f.Type != payload.TypeFile || f.Path == "images/index.json" {
			continue
		}
		src := ra
		if _, ok := ra.Blob(f.Digest); !ok {
			src = rb
		}
		sb, _ := src.Blob(f.Digest)
		cb, _ := rc.Blob(f.Digest)
		for i := range sb.Chunks {
			if sb.Chunks[i].SHA256 != cb.Chunks[i].SHA256 || sb.Chunks[i].Zstd != cb.Chunks[i].Zstd {
				t.Fatalf("%s: chunk %d was not copied as stored", f.Path, i)
			}
		}
	}
	// Split in parts (the copy goes through memory, hashed, not through
	// the kernel): the same content.
	split := filepath.Join(t.TempDir(), "split.run")
	if _, err := Merge(context.Background(), MergeOptions{Inputs: []string{a, b}, Output: split, Stub: fakeStub, SplitSize: 3 << 20}); err != nil {
		t.Fatal(err)
	}
	rs := open(t, split)
	if err := rs.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(rs.Index().Parts) < 2 || listing(rs.Index()) != listing(idx) {
		t.Errorf("split merge: %d parts, files\n%s\nwant\n%s", len(rs.Index().Parts), listing(rs.Index()), listing(idx))
	}
	// Each blob read once: the 6 MiB both apps carry from the base is read
	// from the first of them only.
	if both := ra.Index().DataSize + rb.Index().DataSize; read >= both-(5<<20) {
		t.Errorf("merge read %d bytes; the inputs' data areas are %d: the shared base was read twice", read, both)
	}
	if read < idx.DataSize {
		t.Errorf("merge read %d bytes, less than the %d it wrote: the count is broken", read, idx.DataSize)
	}
}

// readChars is what this process has read so far (/proc/self/io rchar).
func readChars(t *testing.T) int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Skip("no rchar in /proc/self/io")
	return 0
}

func TestMergeRefuses(t *testing.T) {
	one := buildKubefile(t, BuildOptions{}, "FROM scratch\nCOPY app.yaml /manifests/app.yaml\n", map[string]string{"app.yaml": "a: 1\n"})
	other := buildKubefile(t, BuildOptions{}, "FROM scratch\nCOPY app.yaml /manifests/app.yaml\n", map[string]string{"app.yaml": "a: 2\n"})
	asDir := buildKubefile(t, BuildOptions{}, "FROM scratch\nCOPY app.yaml /manifests/app.yaml/x\n", map[string]string{"app.yaml": "a: 1\n"})
	armOut := buildKubefile(t, BuildOptions{Platform: "linux/arm64", Output: filepath.Join(t.TempDir(), "arm.run")},
		"FROM scratch\nCOPY x.yaml /x.yaml\n", map[string]string{"x.yaml": "a: 1\n"})
	notInstaller := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notInstaller, []byte("hello\n"), 0o644)

	for _, tc := range []struct {
		name   string
		inputs []string
		want   []string
	}{
		{"same path, other content", []string{one, other}, []string{"manifests/app.yaml", filepath.Base(one), filepath.Base(other), "different content"}},
		{"a file and a directory", []string{one, asDir}, []string{"manifests/app.yaml", "a file in", "a dir in"}},
		{"other platform", []string{one, armOut}, []string{"different platforms", "linux/amd64", "linux/arm64", "arm.run"}},
		{"not an installer", []string{one, notInstaller}, []string{"notes.txt", "not a usable sealpack installer"}},
		{"one input", []string{one}, []string{"at least two"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "c.run")
			_, err := Merge(context.Background(), MergeOptions{Inputs: tc.inputs, Output: out, Stub: fakeStub})
			if err == nil {
				t.Fatal("merge succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if left := leftovers(t, filepath.Dir(out)); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
