package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/sealpack/sealpack/payload"
	"github.com/sirupsen/logrus"
)

// fixture is a payload carrying a set of images, served on loopback.
type fixture struct {
	r         *payload.Reader
	path      string // the installer file
	addr      string
	foo       v1.Image      // docker.io/library/foo:1
	dockerBar v1.Image      // docker.io/foo/bar:1 (Docker schema2 media types)
	quayBar   v1.Image      // quay.io/foo/bar:1
	quayAB    v1.Image      // quay.io/a/b:1
	ghcrAB    v1.Image      // ghcr.io/a/b:1 (same path as quayAB, no docker.io copy)
	multi     v1.ImageIndex // ghcr.io/x/multi:2, carried for linux/amd64 only
	full      v1.ImageIndex // docker.io/library/full:3, both platforms carried
	pinned    v1.Image      // docker.io/library/pinned@sha256:..., no tag
	other     v1.Image      // a blob of the payload outside images/ (not served)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		foo:       randomImage(t, 64<<10, 3, "linux", "amd64"),
		dockerBar: randomDockerImage(t, 4096, 1, "linux", "amd64"),
		quayBar:   randomImage(t, 4096, 1, "linux", "amd64"),
		quayAB:    randomImage(t, 1024, 1, "linux", "amd64"),
		ghcrAB:    randomImage(t, 1024, 1, "linux", "amd64"),
		multi:     randomIndex(t, "linux/amd64", "linux/arm64"),
		full:      randomIndex(t, "linux/amd64", "linux/arm64"),
		pinned:    randomImage(t, 1024, 1, "linux", "amd64"),
	}
	l := newLayout(t)
	l.add(carry{name: "docker.io/library/foo:1", img: f.foo})
	l.add(carry{name: "docker.io/foo/bar:1", img: f.dockerBar})
	l.add(carry{name: "quay.io/foo/bar:1", img: f.quayBar})
	l.add(carry{name: "quay.io/a/b:1", img: f.quayAB})
	l.add(carry{name: "ghcr.io/a/b:1", img: f.ghcrAB})
	l.add(carry{name: "ghcr.io/x/multi:2", idx: f.multi, only: []string{"linux/amd64"}})
	l.add(carry{name: "docker.io/library/full:3", idx: f.full})
	l.add(carry{name: "docker.io/library/pinned@" + must(f.pinned.Digest()).String(), img: f.pinned})
	dir := t.TempDir()
	f.r = l.write(dir, map[string][]byte{"etc/secret.conf": []byte("not an image blob")})
	f.path = filepath.Join(dir, "app.run")
	ctx, cancel := context.WithCancel(context.Background())
	store := PayloadStore(f.r)
	if fixtureFromLayout {
		store = layoutOf(t, f.r)
	}
	addr, wait, err := Serve(ctx, store, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := wait(); err != nil {
			t.Errorf("wait: %v", err)
		}
	})
	f.addr = addr
	return f
}

func (f *fixture) url(p string) string { return "http://" + f.addr + p }

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	return must(d.Digest()).String()
}

func childDigest(t testing.TB, idx v1.ImageIndex, plat string) string {
	for _, m := range must(idx.IndexManifest()).Manifests {
		if m.Platform.OS+"/"+m.Platform.Architecture == plat {
			return m.Digest.String()
		}
	}
	t.Fatalf("no %s in index", plat)
	return ""
}

func TestPullWithGGCR(t *testing.T) {
	f := newFixture(t)
	images := []struct {
		ref  string
		want v1.Image
	}{
		{"library/foo:1", f.foo},
		{"foo/bar:1", f.dockerBar}, // docker.io wins without ns
		{"docker.io/library/foo:1", f.foo},
		{"quay.io/foo/bar:1", f.quayBar},
		{"library/pinned@" + digestOf(t, f.pinned), f.pinned},
	}
	for _, tc := range images {
		t.Run(tc.ref, func(t *testing.T) {
			ref := must(name.ParseReference(f.addr + "/" + tc.ref))
			img, err := remote.Image(ref)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := digestOf(t, img), digestOf(t, tc.want); got != want {
				t.Fatalf("digest %s, want %s", got, want)
			}
			// validate reads every blob and checks it against its digest.
			if err := validate.Image(img); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("index carried whole", func(t *testing.T) {
		idx, err := remote.Index(must(name.ParseReference(f.addr + "/library/full:3")))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := digestOf(t, idx), digestOf(t, f.full); got != want {
			t.Fatalf("digest %s, want %s", got, want)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("index carried for one platform", func(t *testing.T) {
		ref := must(name.ParseReference(f.addr + "/x/multi:2"))
		idx, err := remote.Index(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := digestOf(t, idx), digestOf(t, f.multi); got != want {
			t.Fatalf("index digest %s, want %s (pulls by the original digest must work)", got, want)
		}
		img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := digestOf(t, img), childDigest(t, f.multi, "linux/amd64"); got != want {
			t.Fatalf("amd64 digest %s, want %s", got, want)
		}
		if err := validate.Image(img); err != nil {
			t.Fatal(err)
		}
		_, err = remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
		if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
			t.Fatalf("arm64 is not carried: want MANIFEST_UNKNOWN, got %v", err)
		}
	})
}

func TestNamespaces(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		path   string
		status int
		want   string // digest served, or error code
	}{
		{"/v2/foo/bar/manifests/1?ns=quay.io", 200, digestOf(t, f.quayBar)},
		{"/v2/foo/bar/manifests/1?ns=docker.io", 200, digestOf(t, f.dockerBar)},
		{"/v2/foo/bar/manifests/1", 200, digestOf(t, f.dockerBar)},
		{"/v2/quay.io/foo/bar/manifests/1", 200, digestOf(t, f.quayBar)},
		{"/v2/docker.io/foo/bar/manifests/1", 200, digestOf(t, f.dockerBar)},
		{"/v2/library/foo/manifests/1?ns=docker.io", 200, digestOf(t, f.foo)},
		{"/v2/foo/manifests/1?ns=docker.io", 200, digestOf(t, f.foo)}, // short name, as docker writes it
		{"/v2/foo/manifests/1", 200, digestOf(t, f.foo)},
		{"/v2/x/multi/manifests/2", 200, digestOf(t, f.multi)}, // only ghcr.io carries it
		{"/v2/x/multi/manifests/2?ns=ghcr.io", 200, digestOf(t, f.multi)},
		{"/v2/a/b/manifests/1?ns=quay.io", 200, digestOf(t, f.quayAB)},
		{"/v2/a/b/manifests/1?ns=ghcr.io", 200, digestOf(t, f.ghcrAB)},
		// ns names a registry whose copy is not carried: a miss, never another registry's copy.
		{"/v2/x/multi/manifests/2?ns=docker.io", 404, "MANIFEST_UNKNOWN"},
		{"/v2/foo/bar/manifests/1?ns=ghcr.io", 404, "MANIFEST_UNKNOWN"},
		{"/v2/foo/bar/tags/list?ns=ghcr.io", 404, "NAME_UNKNOWN"},
		// two registries carry a/b and none is docker.io: the client must say which.
		{"/v2/a/b/manifests/1", 404, "NAME_UNKNOWN"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			status, hdr, body := get(t, http.MethodGet, f.url(tc.path), map[string]string{
				"Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
			})
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status == 200 {
				if got := hdr.Get("Docker-Content-Digest"); got != tc.want {
					t.Fatalf("served %s, want %s", got, tc.want)
				}
				if sum := sha256.Sum256(body); "sha256:"+hex.EncodeToString(sum[:]) != tc.want {
					t.Fatalf("body does not match digest %s", tc.want)
				}
				return
			}
			if got := errorCode(body); got != tc.want {
				t.Fatalf("error code %q, want %q: %s", got, tc.want, body)
			}
		})
	}
	t.Run("ambiguity names the registries", func(t *testing.T) {
		_, _, body := get(t, http.MethodGet, f.url("/v2/a/b/manifests/1"), nil)
		for _, want := range []string{"ghcr.io", "quay.io", "ns="} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("error %s does not mention %q", body, want)
			}
		}
	})
}

func TestUnknownContent(t *testing.T) {
	f := newFixture(t)
	fooLayers := must(f.foo.Layers())
	otherBlob := "sha256:" + strings.Repeat("ab", 32)
	secret, _ := f.r.File("etc/secret.conf")
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown tag", "GET", "/v2/library/foo/manifests/9", 404, "MANIFEST_UNKNOWN"},
		{"unknown tag head", "HEAD", "/v2/library/foo/manifests/9", 404, ""},
		{"unknown digest", "GET", "/v2/library/foo/manifests/" + otherBlob, 404, "MANIFEST_UNKNOWN"},
		{"uncarried platform", "GET", "/v2/x/multi/manifests/" + childDigest(t, f.multi, "linux/arm64"), 404, "MANIFEST_UNKNOWN"},
		{"unknown repository", "GET", "/v2/nope/nope/manifests/1", 404, "MANIFEST_UNKNOWN"},
		{"unknown blob", "GET", "/v2/library/foo/blobs/" + otherBlob, 404, "BLOB_UNKNOWN"},
		{"blob of another repository", "GET", "/v2/foo/bar/blobs/" + must(fooLayers[0].Digest()).String(), 404, "BLOB_UNKNOWN"},
		{"payload file that is no image blob", "GET", "/v2/library/foo/blobs/" + secret.Digest, 404, "BLOB_UNKNOWN"},
		{"uncarried platform's layer", "GET", "/v2/x/multi/blobs/" + armLayer(t, f.multi), 404, "BLOB_UNKNOWN"},
		{"tags of unknown repository", "GET", "/v2/nope/tags/list", 404, "NAME_UNKNOWN"},
		{"invalid digest", "GET", "/v2/library/foo/blobs/sha256:xyz", 400, "DIGEST_INVALID"},
		{"invalid name", "GET", "/v2/UPPER/manifests/1", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := get(t, tc.method, f.url(tc.path), nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code != "" && errorCode(body) != tc.code {
				t.Fatalf("code %q, want %q: %s", errorCode(body), tc.code, body)
			}
		})
	}
}

func armLayer(t testing.TB, idx v1.ImageIndex) string {
	img := must(idx.Image(must(v1.NewHash(childDigest(t, idx, "linux/arm64")))))
	return must(must(img.Layers())[0].Digest()).String()
}

func TestWritesRefused(t *testing.T) {
	f := newFixture(t)
	manifest := must(f.foo.RawManifest())
	tests := []struct{ method, path string }{
		{"POST", "/v2/library/foo/blobs/uploads/"},
		{"POST", "/v2/library/new/blobs/uploads/?mount=" + digestOf(t, f.foo) + "&from=library/foo"},
		{"PATCH", "/v2/library/foo/blobs/uploads/abc"},
		{"PUT", "/v2/library/foo/blobs/uploads/abc?digest=" + digestOf(t, f.foo)},
		{"PUT", "/v2/library/foo/manifests/2"},
		{"DELETE", "/v2/library/foo/manifests/" + digestOf(t, f.foo)},
		{"DELETE", "/v2/library/foo/blobs/" + digestOf(t, f.foo)},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := must(http.NewRequest(tc.method, f.url(tc.path), bytes.NewReader(manifest)))
			resp := must(http.DefaultClient.Do(req))
			body := must(io.ReadAll(resp.Body))
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || errorCode(body) != "UNSUPPORTED" {
				t.Fatalf("got %d %s, want 405 UNSUPPORTED", resp.StatusCode, body)
			}
		})
	}
	t.Run("ggcr push", func(t *testing.T) {
		err := remote.Write(must(name.ParseReference(f.addr+"/library/new:1")), randomImage(t, 100, 1, "linux", "amd64"))
		if err == nil || !strings.Contains(err.Error(), "UNSUPPORTED") {
			t.Fatalf("push into the embedded registry: want UNSUPPORTED, got %v", err)
		}
	})
	// The manifest is still the one carried.
	status, hdr, _ := get(t, "HEAD", f.url("/v2/library/foo/manifests/1"), map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
	if status != 200 || hdr.Get("Docker-Content-Digest") != digestOf(t, f.foo) {
		t.Fatalf("after writes: %d %s", status, hdr.Get("Docker-Content-Digest"))
	}
}

func TestRangeRequests(t *testing.T) {
	f := newFixture(t)
	layer := must(f.foo.Layers())[0]
	full := must(io.ReadAll(must(layer.Compressed())))
	cfg := must(f.foo.RawConfigFile())
	cfgDigest := must(f.foo.ConfigName()).String()
	tests := []struct {
		name   string
		digest string
		data   []byte
		rng    string
		from   int
		to     int // exclusive
	}{
		{"raw layer middle", must(layer.Digest()).String(), full, "bytes=100-1099", 100, 1100},
		{"raw layer suffix", must(layer.Digest()).String(), full, fmt.Sprintf("bytes=%d-", len(full)-10), len(full) - 10, len(full)},
		{"raw layer last bytes", must(layer.Digest()).String(), full, "bytes=-5", len(full) - 5, len(full)},
		{"compressed config", cfgDigest, cfg, "bytes=3-20", 3, 21},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := get(t, "GET", f.url("/v2/library/foo/blobs/"+tc.digest), map[string]string{"Range": tc.rng})
			if status != http.StatusPartialContent {
				t.Fatalf("status %d, want 206: %s", status, body)
			}
			if !bytes.Equal(body, tc.data[tc.from:tc.to]) {
				t.Fatalf("range %s: got %d bytes, not the slice [%d:%d]", tc.rng, len(body), tc.from, tc.to)
			}
			if want := fmt.Sprintf("bytes %d-%d/%d", tc.from, tc.to-1, len(tc.data)); hdr.Get("Content-Range") != want {
				t.Fatalf("Content-Range %q, want %q", hdr.Get("Content-Range"), want)
			}
		})
	}
	t.Run("unsatisfiable", func(t *testing.T) {
		status, _, _ := get(t, "GET", f.url("/v2/library/foo/blobs/"+must(layer.Digest()).String()), map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(full)+5)})
		if status != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("status %d, want 416", status)
		}
	})
	t.Run("whole blob and HEAD", func(t *testing.T) {
		status, hdr, body := get(t, "GET", f.url("/v2/library/foo/blobs/"+must(layer.Digest()).String()), nil)
		if status != 200 || !bytes.Equal(body, full) || hdr.Get("Docker-Content-Digest") != must(layer.Digest()).String() {
			t.Fatalf("GET: %d, %d bytes", status, len(body))
		}
		status, hdr, _ = get(t, "HEAD", f.url("/v2/library/foo/blobs/"+must(layer.Digest()).String()), nil)
		if status != 200 || hdr.Get("Content-Length") != fmt.Sprint(len(full)) {
			t.Fatalf("HEAD: %d, Content-Length %s", status, hdr.Get("Content-Length"))
		}
	})
}

func TestTagsAndCatalog(t *testing.T) {
	f := newFixture(t)
	status, _, body := get(t, "GET", f.url("/v2/library/foo/tags/list"), nil)
	if status != 200 || !strings.Contains(string(body), `"tags":["1"]`) {
		t.Fatalf("tags: %d %s", status, body)
	}
	status, _, body = get(t, "GET", f.url("/v2/_catalog"), nil)
	var cat struct{ Repositories []string }
	if status != 200 || json.Unmarshal(body, &cat) != nil {
		t.Fatalf("catalog: %d %s", status, body)
	}
	want := []string{"docker.io/foo/bar", "docker.io/library/foo", "docker.io/library/full", "docker.io/library/pinned", "ghcr.io/a/b", "ghcr.io/x/multi", "quay.io/a/b", "quay.io/foo/bar"}
	if fmt.Sprint(cat.Repositories) != fmt.Sprint(want) {
		t.Fatalf("catalog %v, want %v", cat.Repositories, want)
	}
	status, _, _ = get(t, "GET", f.url("/v2/"), nil)
	if status != 200 {
		t.Fatalf("/v2/: %d", status)
	}
}

func TestLogging(t *testing.T) {
	l := newLayout(t)
	l.add(carry{name: "docker.io/library/foo:1", img: randomImage(t, 100, 1, "linux", "amd64")})
	r := l.write(t.TempDir(), nil)

	// Nothing may reach logrus's process-wide logger.
	std := logrus.StandardLogger()
	var global bytes.Buffer
	oldOut := std.Out
	std.SetOutput(&global)
	defer std.SetOutput(oldOut)

	var log bytes.Buffer
	h := must(New(PayloadStore(r), WithLog(&log)))
	quiet := must(New(PayloadStore(r)))
	for _, handler := range []http.Handler{h, quiet} {
		for _, p := range []string{"/v2/", "/v2/library/foo/manifests/1", "/v2/library/foo/manifests/nope"} {
			req := must(http.NewRequest("GET", "http://x"+p, nil))
			handler.ServeHTTP(discardWriter{header: http.Header{}}, req)
		}
	}
	if !strings.Contains(log.String(), "manifest unknown") || !strings.Contains(log.String(), "response completed") {
		t.Fatalf("log lacks the requests:\n%s", log.String())
	}
	if global.Len() > 0 {
		t.Fatalf("distribution logged to the global logger:\n%s", global.String())
	}
}

type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func TestServeStopsAndReadyFast(t *testing.T) {
	l := newLayout(t)
	l.add(carry{name: "docker.io/library/foo:1", img: randomImage(t, 100, 1, "linux", "amd64")})
	r := l.write(t.TempDir(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	addr, wait, err := Serve(ctx, PayloadStore(r), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(t, "GET", "http://"+addr+"/v2/", nil); status != 200 {
		t.Fatalf("/v2/: %d", status)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("first /v2/ answer after %s, want < 1s", d)
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("still listening after ctx ended")
	}
	// The address is in use: Serve says so instead of failing later.
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	defer ln.Close()
	if _, _, err := Serve(context.Background(), PayloadStore(r), ln.Addr().String()); err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("listening on a used port: %v", err)
	}
}
