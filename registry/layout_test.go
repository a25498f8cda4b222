package registry

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

// fixtureFromLayout makes newFixture serve an OCI layout directory
// extracted from the fixture's payload instead of the payload itself.
var fixtureFromLayout bool

// layoutOf writes the payload's images/ tree into a directory, as the
// install seeds it on a master, and opens it.
func layoutOf(t testing.TB, r *payload.Reader) Store {
	dir := t.TempDir()
	for _, f := range r.Index().Files {
		rel, ok := strings.CutPrefix(f.Path, "images/")
		if !ok || f.Type != payload.TypeFile {
			continue
		}
		raw := must(r.ReadFile(f.Path))
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return must(OpenLayout(dir))
}

// TestLayoutStore runs the registry's behaviour tests against a layout
// directory: a master's registry must answer exactly as the installer's.
func TestLayoutStore(t *testing.T) {
	fixtureFromLayout = true
	defer func() { fixtureFromLayout = false }()
	for name, fn := range map[string]func(*testing.T){
		"pull":       TestPullWithGGCR,
		"namespaces": TestNamespaces,
		"unknown":    TestUnknownContent,
		"writes":     TestWritesRefused,
		"ranges":     TestRangeRequests,
		"tags":       TestTagsAndCatalog,
	} {
		t.Run(name, fn)
	}
}

func TestLayoutStoreRefuses(t *testing.T) {
	l := newLayout(t)
	l.add(carry{name: "docker.io/library/foo:1", img: randomImage(t, 1024, 1, "linux", "amd64")})
	store := layoutOf(t, l.write(t.TempDir(), nil))
	dir := string(store.(layoutStore))

	t.Run("a digest that is not a sha256 never reaches the file system", func(t *testing.T) {
		for _, d := range []string{"sha256:../../index.json", "sha512:" + strings.Repeat("a", 128), "sha256:" + strings.Repeat("A", 64), "index.json"} {
			if _, ok := store.Stat(d); ok {
				t.Errorf("Stat(%q) found a blob", d)
			}
			if _, err := store.Open(d, 0); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(%q): %v, want fs.ErrNotExist", d, err)
			}
		}
	})
	t.Run("a damaged manifest is named at start", func(t *testing.T) {
		cat := must(loadCatalog(store))
		d := cat.images[0].Descriptor.Digest
		p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
		raw := must(os.ReadFile(p))
		raw[len(raw)-2] ^= 1
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := New(store)
		if err == nil || !strings.Contains(err.Error(), d) || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("New over a damaged manifest: %v, want an error naming %s", err, d)
		}
	})
	t.Run("not a layout", func(t *testing.T) {
		_, err := OpenLayout(t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
			t.Fatalf("OpenLayout of an empty directory: %v", err)
		}
	})
	t.Run("a layout without images serves an empty registry", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, LayoutMarker), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		h, err := New(must(OpenLayout(dir)))
		if err != nil {
			t.Fatal(err)
		}
		h.(io.Closer).Close()
	})
}
