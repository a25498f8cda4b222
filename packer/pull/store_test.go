package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/sealpack/sealpack/payload"
)

var update = flag.Bool("update", false, "rewrite golden files")

// world is a registry holding the images the tests carry.
type world struct {
	reg    *testRegistry
	images map[string]source // by repository:tag in the registry
	shared v1.Hash           // a layer several images share
	layer  v1.Layer          // that layer
}

// source is what was pushed: the top digest and, for an index, each
// platform's manifest digest.
type source struct {
	digest   v1.Hash
	size     int64 // every blob the image needs, for the requested platforms
	children map[string]v1.Hash
	layers   []v1.Hash
}

func newWorld(t testing.TB, reg *testRegistry, prefix string) *world {
	t.Helper()
	w := &world{reg: reg, images: map[string]source{}}
	shared := gzLayer(t, 1, 100<<10) // spans two 64 KiB chunks
	w.shared, _ = shared.Digest()
	w.layer = shared
	plain := func(ref, plat string, layers ...v1.Layer) {
		img := makeImage(t, plat, layers...)
		d := reg.push(t, prefix+ref, img)
		w.images[ref] = source{digest: d, size: imageSize(t, img), layers: layerDigests(t, img)}
	}
	plain("library/app:1", "linux/amd64", shared, gzLayer(t, 2, 10<<10))
	plain("tools/tool:2", "linux/amd64", shared, gzLayer(t, 3, 20<<10))
	plain("library/pinned:v1", "linux/amd64", gzLayer(t, 7, 3<<10), textLayer(t, 9, 200<<10))
	plain("armonly:1", "linux/arm64", gzLayer(t, 8, 2<<10))

	amd := makeImage(t, "linux/amd64", shared, gzLayer(t, 4, 5<<10))
	arm := makeImage(t, "linux/arm64/v8", gzLayer(t, 5, 5<<10))
	att := makeImage(t, "unknown/unknown", gzLayer(t, 6, 1<<10))
	idx := makeIndex(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64/v8": arm, "unknown/unknown": att})
	d := reg.pushIndex(t, prefix+"library/multi:1", idx)
	raw, _ := idx.RawManifest()
	ad, _ := amd.Digest()
	rd, _ := arm.Digest()
	w.images["library/multi:1"] = source{digest: d, size: int64(len(raw)) + imageSize(t, amd),
		children: map[string]v1.Hash{"linux/amd64": ad, "linux/arm64/v8": rd},
		layers:   append(layerDigests(t, amd), layerDigests(t, arm)...)}
	// Both platforms: the index, both images, the shared layer once.
	w.images["library/multi:1+arm64"] = source{digest: d, size: int64(len(raw)) + imageSize(t, amd) + imageSize(t, arm)}
	return w
}

func imageSize(t testing.TB, img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func layerDigests(t testing.TB, img v1.Image) []v1.Hash {
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range m.Layers {
		ds = append(ds, l.Digest)
	}
	return ds
}

func (w *world) refs() []string {
	h := w.reg.host
	return []string{h + "/library/app:1", h + "/tools/tool:2", h + "/library/multi:1",
		h + "/library/pinned@" + w.images["library/pinned:v1"].digest.String()}
}

// checkLayout rebuilds every carried image from the payload's OCI layout,
// validates it and compares digests with the source.
func checkLayout(t *testing.T, r *payload.Reader, want map[string]source, platforms []string) {
	t.Helper()
	dir := t.TempDir()
	if err := r.Extract(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.FromPath(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(want) {
		t.Fatalf("index.json has %d images, want %d", len(im.Manifests), len(want))
	}
	for _, d := range im.Manifests {
		name := d.Annotations[AnnotationRef]
		src, ok := want[name]
		if !ok {
			t.Errorf("index.json carries unexpected %q", name)
			continue
		}
		if d.Digest != src.digest {
			t.Errorf("%s: digest %s, source %s", name, d.Digest, src.digest)
		}
		if tag := d.Annotations[AnnotationTag]; strings.Contains(name, "@") != (tag == "") {
			t.Errorf("%s: tag annotation %q", name, tag)
		}
		if !d.MediaType.IsIndex() {
			img, err := ii.Image(d.Digest)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("%s: invalid image: %v", name, err)
			}
			continue
		}
		child, err := ii.ImageIndex(d.Digest)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, plat := range platforms {
			cd := src.children[plat]
			img, err := child.Image(cd)
			if err != nil {
				t.Fatalf("%s: %s manifest %s: %v", name, plat, cd, err)
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("%s: %s: invalid image: %v", name, plat, err)
			}
		}
	}
}

// checkRaw checks that every layer is one raw section of the installer.
func checkRaw(t *testing.T, r *payload.Reader, layers []v1.Hash) {
	t.Helper()
	for _, l := range layers {
		sec, ok := r.Section(l.String())
		if !ok {
			t.Errorf("layer %s is not stored raw", l)
			continue
		}
		h := sha256.New()
		io.Copy(h, sec)
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.String() {
			t.Errorf("layer %s: section holds %s", l, got)
		}
	}
}

func open(t *testing.T, path string) *payload.Reader {
	t.Helper()
	r, err := payload.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func TestStoreLayout(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	path := filepath.Join(t.TempDir(), "app.run")
	files, images, err := storeTo(t, path, w.refs(), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	h := reg.host
	want := map[string]source{
		h + "/library/app:1":   w.images["library/app:1"],
		h + "/tools/tool:2":    w.images["tools/tool:2"],
		h + "/library/multi:1": w.images["library/multi:1"],
		h + "/library/pinned@" + w.images["library/pinned:v1"].digest.String(): w.images["library/pinned:v1"],
	}
	// Summaries: sorted by name, digests of what index.json points at.
	var names []string
	for _, img := range images {
		names = append(names, img.Name)
		src := want[img.Name]
		if img.Digest != src.digest.String() || img.Platform != "linux/amd64" || img.Size != src.size {
			t.Errorf("image %+v, want digest %s, platform linux/amd64, size %d", img, src.digest, src.size)
		}
	}
	if !slices.IsSorted(names) || len(names) != len(want) {
		t.Errorf("images %v: want %d, sorted", names, len(want))
	}
	// Files: the layout and one file per distinct blob, named by digest.
	distinct := map[string]bool{}
	for _, f := range files {
		if f.Type != payload.TypeFile || f.Mode != 0o644 {
			t.Errorf("%s: type %s mode %v", f.Path, f.Type, f.Mode)
		}
		if hex, ok := strings.CutPrefix(f.Path, BlobDir+"/"); ok {
			if f.Digest != "sha256:"+hex {
				t.Errorf("%s has digest %s", f.Path, f.Digest)
			}
			distinct[f.Digest] = true
		} else if f.Path != LayoutFile && f.Path != IndexFile {
			t.Errorf("unexpected file %s", f.Path)
		}
	}
	if !slices.IsSortedFunc(files, func(a, b payload.File) int { return strings.Compare(a.Path, b.Path) }) {
		t.Error("files are not sorted")
	}

	r := open(t, path)
	if got := r.Index().Images; !slices.Equal(got, images) {
		t.Errorf("payload images %v, want %v", got, images)
	}
	if len(r.Index().Blobs) != len(distinct)+2 {
		t.Errorf("payload holds %d blobs, want %d distinct ones + 2 layout files", len(r.Index().Blobs), len(distinct))
	}
	checkLayout(t, r, want, []string{"linux/amd64"})
	var layers []v1.Hash
	for _, src := range want {
		if src.children == nil {
			layers = append(layers, src.layers...)
		}
	}
	checkRaw(t, r, layers)
	// Only the amd64 manifest of the index is carried, not arm64's nor the attestation.
	multi := w.images["library/multi:1"]
	if _, ok := r.Blob(multi.children["linux/arm64/v8"].String()); ok {
		t.Error("the arm64 manifest was carried for an amd64 build")
	}
	for _, l := range multi.layers[len(multi.layers)-1:] {
		if _, ok := r.Blob(l.String()); ok {
			t.Errorf("arm64 layer %s was carried", l)
		}
	}
}

func TestStoreMultiPlatform(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	opts := testOptions(t)
	opts.Platforms = []string{"linux/amd64", "linux/arm64"}
	path := filepath.Join(t.TempDir(), "app.run")
	h := reg.host
	_, images, err := storeTo(t, path, []string{h + "/library/multi:1", h + "/library/app:1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantImages := []payload.Image{
		{Name: h + "/library/app:1", Digest: w.images["library/app:1"].digest.String(), Platform: "linux/amd64", Size: w.images["library/app:1"].size},
		{Name: h + "/library/multi:1", Digest: w.images["library/multi:1"].digest.String(), Platform: "linux/amd64,linux/arm64", Size: w.images["library/multi:1+arm64"].size},
	}
	if !slices.Equal(images, wantImages) {
		t.Errorf("images\n%v\nwant\n%v", images, wantImages)
	}
	r := open(t, path)
	checkLayout(t, r, map[string]source{h + "/library/multi:1": w.images["library/multi:1"], h + "/library/app:1": w.images["library/app:1"]},
		[]string{"linux/amd64", "linux/arm64/v8"})
	checkRaw(t, r, w.images["library/multi:1"].layers)
}

// TestStoreGolden carries docker.io names through a mirror, so that
// index.json and the summaries are stable and can be compared byte for byte.
func TestStoreGolden(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	opts := testOptions(t)
	opts.Mirrors = map[string]string{"docker.io": "http://" + reg.host}
	refs := []string{"app:1", "docker.io/tools/tool:2", "docker.io/library/multi:1",
		"library/pinned@" + w.images["library/pinned:v1"].digest.String()}
	path := filepath.Join(t.TempDir(), "app.run")
	_, images, err := storeTo(t, path, refs, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := open(t, path)
	idx, err := r.ReadFile(IndexFile)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := json.MarshalIndent(images, "", "  ")
	got := append(append(idx, "---\n"...), append(sum, '\n')...)
	golden := filepath.Join("testdata", "store.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("index.json and images differ from %s:\n%s", golden, got)
	}
	if lay, _ := r.ReadFile(LayoutFile); string(lay) != `{"imageLayoutVersion":"1.0.0"}`+"\n" {
		t.Errorf("oci-layout: %q", lay)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestStoreDeterministic(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	dir := t.TempDir()
	a := testOptions(t)
	a.Jobs = 8
	if _, _, err := storeTo(t, filepath.Join(dir, "a.run"), w.refs(), a); err != nil {
		t.Fatal(err)
	}
	// No cache, one job, refs reversed and repeated: the same bytes.
	b := testOptions(t)
	b.CacheDir, b.Jobs = "", 1
	refs := slices.Clone(w.refs())
	slices.Reverse(refs)
	refs = append(refs, refs[0])
	if _, _, err := storeTo(t, filepath.Join(dir, "b.run"), refs, b); err != nil {
		t.Fatal(err)
	}
	if sha256File(t, filepath.Join(dir, "a.run")) != sha256File(t, filepath.Join(dir, "b.run")) {
		t.Error("two builds of the same images differ")
	}
}

func TestStoreCache(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	dir := t.TempDir()
	opts := testOptions(t)
	if _, _, err := storeTo(t, filepath.Join(dir, "1.run"), w.refs(), opts); err != nil {
		t.Fatal(err)
	}
	if reg.blobFetches() == 0 {
		t.Fatal("the first build fetched no blob")
	}

	reg.reset()
	if _, _, err := storeTo(t, filepath.Join(dir, "2.run"), w.refs(), opts); err != nil {
		t.Fatal(err)
	}
	if n := reg.blobFetches(); n != 0 {
		t.Errorf("a rebuild fetched %d blobs, want 0", n)
	}
	if n := reg.manifestRequests("library/pinned"); n != 0 {
		t.Errorf("a rebuild asked %d times for an image pulled by digest, want 0", n)
	}
	if n := reg.manifestRequests("library/app"); n != 1 {
		t.Errorf("a rebuild asked %d times for a tag, want 1 (HEAD)", n)
	}
	if sha256File(t, filepath.Join(dir, "1.run")) != sha256File(t, filepath.Join(dir, "2.run")) {
		t.Error("the rebuild from the cache differs")
	}

	// A corrupt cache entry is noticed, dropped and fetched again.
	bad := filepath.Join(opts.CacheDir, "blobs", "sha256", w.shared.Hex)
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	os.WriteFile(bad, data, 0o644)
	reg.reset()
	if _, _, err := storeTo(t, filepath.Join(dir, "3.run"), w.refs(), opts); err != nil {
		t.Fatal(err)
	}
	if n, m := reg.blobFetches(), reg.blobGets[w.shared.String()]; n != 1 || m != 1 {
		t.Errorf("after corrupting one entry, %d blob fetches (%d of it), want 1", n, m)
	}
	if sha256File(t, filepath.Join(dir, "1.run")) != sha256File(t, filepath.Join(dir, "3.run")) {
		t.Error("the rebuild after a corrupt cache entry differs")
	}
	left, _ := filepath.Glob(filepath.Join(opts.CacheDir, "blobs", "sha256", ".tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary cache files left: %v", left)
	}
}

func TestStoreFetchesSharedBlobsOnce(t *testing.T) {
	for _, cache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			reg := newRegistry(t)
			w := newWorld(t, reg, "")
			opts := testOptions(t)
			if !cache {
				opts.CacheDir = ""
			}
			if _, _, err := storeTo(t, filepath.Join(t.TempDir(), "a.run"), w.refs(), opts); err != nil {
				t.Fatal(err)
			}
			for d, n := range reg.blobGets {
				if n != 1 {
					t.Errorf("blob %s fetched %d times", d, n)
				}
			}
			if reg.blobGets[w.shared.String()] != 1 {
				t.Errorf("shared layer fetched %d times", reg.blobGets[w.shared.String()])
			}
		})
	}
}

// TestStoreSkipsBlobsInPayload: a blob the payload holds already (FROM of
// another installer) is listed but not fetched again.
func TestStoreSkipsBlobsInPayload(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	pw, err := payload.Create(filepath.Join(t.TempDir(), "a.run"))
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Abort()
	pw.WriteStub(strings.NewReader("stub"))
	if _, err := pw.Add(context.Background(), []payload.Source{{Name: "base", Open: w.layer.Compressed, Compress: payload.Never}}); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	files, _, err := Store(context.Background(), []string{reg.host + "/library/app:1"}, pw, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.blobGets[w.shared.String()]; n != 0 {
		t.Errorf("the blob in the payload was fetched %d times", n)
	}
	if !slices.ContainsFunc(files, func(f payload.File) bool { return f.Digest == w.shared.String() }) {
		t.Error("the blob in the payload is missing from the layout")
	}
}

func TestStoreMirror(t *testing.T) {
	for _, tc := range []struct{ name, prefix, mirror string }{
		{"http", "", "http://%s"},
		{"no scheme, loopback", "", "%s"},
		{"path prefix", "proxy/", "%s/proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t)
			w := newWorld(t, reg, tc.prefix)
			opts := testOptions(t)
			opts.Mirrors = map[string]string{"docker.io": fmt.Sprintf(tc.mirror, reg.host)}
			path := filepath.Join(t.TempDir(), "a.run")
			_, images, err := storeTo(t, path, []string{"docker.io/library/app:1"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(images) != 1 || images[0].Name != "docker.io/library/app:1" || images[0].Digest != w.images["library/app:1"].digest.String() {
				t.Fatalf("images %v", images)
			}
			if n := reg.manifestRequests(tc.prefix + "library/app"); n == 0 {
				t.Error("the mirror was not asked")
			}
			checkLayout(t, open(t, path), map[string]source{"docker.io/library/app:1": w.images["library/app:1"]}, nil)
		})
	}
}

func TestStoreAuth(t *testing.T) {
	reg := newRegistry(t)
	reg.setAuth("alice", "s3cret:=")
	w := newWorld(t, reg, "")
	ref := reg.host + "/library/app:1"
	cases := []struct {
		name    string
		auth    map[string]string
		docker  string // docker config.json auths entry user:pass
		wantErr string
	}{
		{name: "registry-auth", auth: map[string]string{reg.host: "alice:s3cret:="}},
		{name: "docker config", docker: "alice:s3cret:="},
		{name: "registry-auth wins", auth: map[string]string{reg.host: "alice:s3cret:="}, docker: "alice:wrong"},
		{name: "wrong password", auth: map[string]string{reg.host: "alice:wrong"},
			wantErr: "pull " + ref + ": UNAUTHORIZED: authentication required (from " + reg.host + "); the --registry-auth credentials for " + reg.host + " were refused"},
		{name: "wrong docker config", docker: "bob:nope",
			wantErr: "UNAUTHORIZED: authentication required (from " + reg.host + "); the docker config's credentials for " + reg.host + " were refused"},
		{name: "none", wantErr: "no credentials for " + reg.host + ": give --registry-auth " + reg.host + "=USER:PASSWORD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t)
			conf := t.TempDir()
			t.Setenv("DOCKER_CONFIG", conf)
			opts.Keychain = nil // the docker config
			if tc.docker != "" {
				cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.host, b64(tc.docker))
				os.WriteFile(filepath.Join(conf, "config.json"), []byte(cfg), 0o600)
			}
			opts.Auth = map[string]authnBasic{}
			for h, up := range tc.auth {
				host, cred, err := ParseAuth(h + "=" + up)
				if err != nil {
					t.Fatal(err)
				}
				opts.Auth[host] = cred
			}
			path := filepath.Join(t.TempDir(), "a.run")
			_, _, err := storeTo(t, path, []string{ref}, opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkLayout(t, open(t, path), map[string]source{ref: w.images["library/app:1"]}, nil)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("error shows a password: %v", err)
			}
			if _, serr := os.Stat(path); serr == nil {
				t.Error("an installer was left behind")
			}
		})
	}
}

func TestStoreErrors(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	h := reg.host
	down := newRegistry(t)
	down.srv.Close()
	cases := []struct {
		name    string
		refs    []string
		opts    func(*Options)
		want    []string // each must appear
		retries bool     // the failing request is transient and retried
	}{
		{name: "missing tag", refs: []string{h + "/library/app:9.99"},
			want: []string{"pull " + h + "/library/app:9.99: MANIFEST_UNKNOWN: Unknown manifest (from " + h + ")"}},
		{name: "missing repository", refs: []string{h + "/nope/nothing:1"},
			want: []string{"pull " + h + "/nope/nothing:1: NAME_UNKNOWN: Unknown name (from " + h + ")"}},
		{name: "missing through a mirror", refs: []string{"docker.io/library/nginx:9.99"},
			opts: func(o *Options) { o.Mirrors = map[string]string{"docker.io": "http://" + h} },
			want: []string{"pull docker.io/library/nginx:9.99: NAME_UNKNOWN: Unknown name (from " + h + ")"}},
		{name: "every missing image named", refs: []string{h + "/library/app:1", h + "/library/app:9.98", h + "/library/app:9.99"},
			want: []string{"pull " + h + "/library/app:9.98: MANIFEST_UNKNOWN", "pull " + h + "/library/app:9.99: MANIFEST_UNKNOWN"}},
		{name: "registry down", refs: []string{down.host + "/library/app:1"}, retries: true,
			want: []string{"pull " + down.host + "/library/app:1: cannot reach the registry: ", "connection refused", "(from " + down.host + "), gave up after 3 attempts"}},
		{name: "registry down, by digest, no cache", refs: []string{down.host + "/library/app@" + w.images["library/app:1"].digest.String()},
			opts: func(o *Options) { o.CacheDir = "" }, retries: true,
			want: []string{"pull " + down.host + "/library/app@sha256:", "connection refused", "gave up after 3 attempts"}},
		{name: "platform missing from an index", refs: []string{h + "/library/multi:1"},
			opts: func(o *Options) { o.Platforms = []string{"linux/s390x"} },
			want: []string{"pull " + h + "/library/multi:1: no linux/s390x manifest in its index (it has linux/amd64, linux/arm64/v8)"}},
		{name: "one of two platforms missing", refs: []string{h + "/library/multi:1"},
			opts: func(o *Options) { o.Platforms = []string{"linux/amd64", "linux/arm/v7"} },
			want: []string{"no linux/arm/v7 manifest in its index"}},
		{name: "plain image of another platform", refs: []string{h + "/armonly:1"},
			want: []string{"pull " + h + "/armonly:1: the image is linux/arm64 only, not linux/amd64"}},
		{name: "bad reference", refs: []string{h + "/Library/App:1"},
			want: []string{`image "` + h + `/Library/App:1": invalid reference format`}},
		{name: "bad platform", refs: w.refs(), opts: func(o *Options) { o.Platforms = []string{"linux"} },
			want: []string{`platform "linux": want os/arch[/variant]`}},
		{name: "no platform", refs: w.refs(), opts: func(o *Options) { o.Platforms = nil },
			want: []string{"no platform given"}},
		{name: "bad mirror", refs: w.refs(), opts: func(o *Options) { o.Mirrors = map[string]string{"docker.io": "ftp://x"} },
			want: []string{`registry mirror docker.io=ftp://x: mirror "ftp://x": scheme "ftp" (want http or https)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.Retries = 2
			if tc.opts != nil {
				tc.opts(&opts)
			}
			reg.reset()
			path := filepath.Join(t.TempDir(), "a.run")
			_, _, err := storeTo(t, path, tc.refs, opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
				}
			}
			if !tc.retries {
				// 404s are not retried: one HEAD and one GET per missing tag at most.
				for k, n := range reg.manifests {
					if n > 1 {
						t.Errorf("%s asked %d times", k, n)
					}
				}
			}
		})
	}
}

func TestStoreRetries(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	opts := testOptions(t)
	reg.fail503 = 2
	path := filepath.Join(t.TempDir(), "a.run")
	if _, _, err := storeTo(t, path, w.refs(), opts); err != nil {
		t.Fatalf("two 503s with 3 retries: %v", err)
	}
	checkLayout(t, open(t, path), map[string]source{
		reg.host + "/library/app:1": w.images["library/app:1"], reg.host + "/tools/tool:2": w.images["tools/tool:2"],
		reg.host + "/library/multi:1": w.images["library/multi:1"],
		reg.host + "/library/pinned@" + w.images["library/pinned:v1"].digest.String(): w.images["library/pinned:v1"],
	}, []string{"linux/amd64"})

	for _, cache := range []string{"cache", ""} {
		reg.fail503 = 1
		opts := testOptions(t)
		opts.Retries = -1
		if cache == "" {
			opts.CacheDir = ""
		}
		_, _, err := storeTo(t, filepath.Join(t.TempDir(), "b.run"), []string{reg.host + "/library/app:1"}, opts)
		if err == nil || !strings.Contains(err.Error(), "pull "+reg.host+"/library/app:1: ") ||
			!strings.Contains(err.Error(), "UNAVAILABLE: try again later (from "+reg.host+")") {
			t.Errorf("cache %q: a 503 without retries: %v", cache, err)
		}
	}
}

// TestStoreBlobMissing: a layer the registry lost fails the build, naming the
// image and the blob, with or without a cache, and leaves no partial entry.
func TestStoreBlobMissing(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	lost := w.images["tools/tool:2"].layers[1]
	reg.gone[lost.String()] = true
	for _, cache := range []bool{true, false} {
		opts := testOptions(t)
		if !cache {
			opts.CacheDir = ""
		}
		_, _, err := storeTo(t, filepath.Join(t.TempDir(), "a.run"), w.refs(), opts)
		want := "pull " + reg.host + "/tools/tool:2: blob " + lost.String() + ": BLOB_UNKNOWN: blob unknown to registry (from " + reg.host + ")"
		if err == nil || err.Error() != want {
			t.Errorf("cache=%v: error\n%v\nwant\n%s", cache, err, want)
		}
		if cache {
			left, _ := os.ReadDir(filepath.Join(opts.CacheDir, "blobs", "sha256"))
			for _, e := range left {
				if strings.HasPrefix(e.Name(), ".tmp") || e.Name() == lost.Hex {
					t.Errorf("cache holds %s after a failed download", e.Name())
				}
			}
		}
	}
}

func TestStoreInsecure(t *testing.T) {
	addr := "192.0.2.2:0" // this machine's non-loopback address in the test network
	reg := newRegistryOn(t, addr)
	w := newWorld(t, reg, "")
	ref := reg.host + "/library/app:1"
	opts := testOptions(t)
	opts.Retries = -1
	if _, _, err := storeTo(t, filepath.Join(t.TempDir(), "a.run"), []string{ref}, opts); err == nil ||
		!strings.Contains(err.Error(), "pull "+ref) {
		t.Errorf("HTTPS to a plain HTTP registry: %v", err)
	}
	opts.Insecure = []string{reg.host}
	path := filepath.Join(t.TempDir(), "b.run")
	if _, _, err := storeTo(t, path, []string{ref}, opts); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, open(t, path), map[string]source{ref: w.images["library/app:1"]}, nil)
}

func TestStoreProgress(t *testing.T) {
	reg := newRegistry(t)
	w := newWorld(t, reg, "")
	opts := testOptions(t)
	var lines bytes.Buffer
	var done, total int64
	calls := 0
	opts.Progress = &lines
	opts.OnProgress = func(d, t int64) { done, total, calls = d, t, calls+1 }
	if _, _, err := storeTo(t, filepath.Join(t.TempDir(), "a.run"), w.refs(), opts); err != nil {
		t.Fatal(err)
	}
	var want int64
	seen := map[v1.Hash]bool{}
	for _, ref := range []string{"library/app:1", "tools/tool:2", "library/pinned:v1"} {
		for _, l := range w.images[ref].layers {
			if !seen[l] {
				seen[l] = true
				want += layerSize(t, reg, l)
			}
		}
	}
	multi := w.images["library/multi:1"].layers
	for _, l := range multi[:len(multi)-1] { // the amd64 ones
		if !seen[l] {
			seen[l] = true
			want += layerSize(t, reg, l)
		}
	}
	if done != want || total != want || calls < 2 {
		t.Errorf("progress %d/%d in %d calls, want %d/%d", done, total, calls, want, want)
	}
	for _, s := range append(w.refs(), "layers to download", "stored 4 images") {
		if !strings.Contains(lines.String(), s) {
			t.Errorf("progress lines lack %q:\n%s", s, lines.String())
		}
	}
}

// layerSize asks the test registry for a blob's size.
func layerSize(t *testing.T, reg *testRegistry, d v1.Hash) int64 {
	t.Helper()
	resp, err := reg.srv.Client().Head(reg.srv.URL + "/v2/library/app/blobs/" + d.String())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD blob %s: %v %v", d, err, resp)
	}
	resp.Body.Close()
	return resp.ContentLength
}
