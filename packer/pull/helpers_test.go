package pull

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealpack/sealpack/payload"
)

// testRegistry is an in-process registry on loopback that counts what it is
// asked and can refuse (basic auth) or fail (503) on purpose.
type testRegistry struct {
	srv  *httptest.Server
	host string

	mu        sync.Mutex
	blobGets  map[string]int  // by digest
	manifests map[string]int  // "GET repo:ref" / "HEAD repo:ref"
	fail503   int             // answer 503 to this many blob GETs
	gone      map[string]bool // blobs answered with 404 BLOB_UNKNOWN
	user      string          // basic auth when set
	pass      string
}

func newRegistry(t testing.TB) *testRegistry {
	return newRegistryOn(t, "127.0.0.1:0")
}

func newRegistryOn(t testing.TB, addr string) *testRegistry {
	t.Helper()
	r := &testRegistry{blobGets: map[string]int{}, manifests: map[string]int{}, gone: map[string]bool{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: r.wrap(reg)}}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	r.host = ln.Addr().String()
	return r
}

func (r *testRegistry) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		user, pass := r.user, r.pass
		r.mu.Unlock()
		if user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		p := strings.TrimPrefix(req.URL.Path, "/v2/")
		if i := strings.LastIndex(p, "/blobs/"); i >= 0 && req.Method == http.MethodGet && !strings.Contains(p, "/uploads/") {
			r.mu.Lock()
			r.blobGets[p[i+len("/blobs/"):]]++
			fail := r.fail503 > 0
			if fail {
				r.fail503--
			}
			gone := r.gone[p[i+len("/blobs/"):]]
			r.mu.Unlock()
			if gone {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)
				return
			}
			if fail {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"errors":[{"code":"UNAVAILABLE","message":"try again later"}]}`)
				return
			}
		}
		if i := strings.LastIndex(p, "/manifests/"); i >= 0 && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
			r.mu.Lock()
			r.manifests[req.Method+" "+p[:i]+":"+p[i+len("/manifests/"):]]++
			r.mu.Unlock()
		}
		next.ServeHTTP(w, req)
	})
}

// blobFetches is the number of blob GETs since the last reset.
func (r *testRegistry) blobFetches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.blobGets {
		n += c
	}
	return n
}

func (r *testRegistry) manifestRequests(repo string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, c := range r.manifests {
		// Referrers are listed on every build (the list changes while the
		// images do not): the tag-schema fallback is not an image's manifest.
		if strings.Contains(k, " "+repo+":") && !strings.Contains(k, ":sha256-") {
			n += c
		}
	}
	return n
}

func (r *testRegistry) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blobGets = map[string]int{}
	r.manifests = map[string]int{}
}

func (r *testRegistry) setAuth(user, pass string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user, r.pass = user, pass
}

func (r *testRegistry) push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(r.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, r.pushAuth()); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (r *testRegistry) pushIndex(t testing.TB, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(r.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx, r.pushAuth()); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (r *testRegistry) pushAuth() remote.Option {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.user == "" {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass})
}

// gzLayer is a real gzip layer (stored blocks, like an incompressible real
// one) holding size bytes of seeded random data.
func gzLayer(t testing.TB, seed uint64, size int) v1.Layer {
	t.Helper()
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	data := make([]byte, size)
	rand.NewChaCha8(key).Read(data)
	return gzipLayer(t, seed, data)
}

// textLayer is a gzip layer (stored blocks) of repetitive text: unlike a
// real layer, zstd would shrink it, so it tells a layer stored raw from one
// the Writer compressed.
func textLayer(t testing.TB, seed uint64, size int) v1.Layer {
	t.Helper()
	line := fmt.Sprintf("sealpack test layer %d\n", seed)
	return gzipLayer(t, seed, []byte(strings.Repeat(line, size/len(line)+1)[:size]))
}

func gzipLayer(t testing.TB, seed uint64, data []byte) v1.Layer {
	size := len(data)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data-%d", seed), Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	zw.Close()
	b := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// makeImage builds an OCI image for plat ("linux/arm64") with layers.
func makeImage(t testing.TB, plat string, layers ...v1.Layer) v1.Image {
	t.Helper()
	p, err := v1.ParsePlatform(plat)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant,
		RootFS: v1.RootFS{Type: "layers"}, Config: v1.Config{Cmd: []string{"/bin/true"}}})
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// makeIndex builds an OCI index of images by platform.
func makeIndex(t testing.TB, imgs map[string]v1.Image) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, plat := range sortedKeys(imgs) {
		p, err := v1.ParsePlatform(plat)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: imgs[plat], Descriptor: v1.Descriptor{Platform: p}})
	}
	return mutate.AppendManifests(idx, adds...)
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// testOptions pulls for amd64 with no credentials of the machine and fast retries.
func testOptions(t testing.TB) Options {
	return Options{
		Platforms: []string{"linux/amd64"},
		Keychain:  authn.NewMultiKeychain(),
		CacheDir:  filepath.Join(t.TempDir(), "cache"),
		Backoff:   time.Millisecond,
	}
}

// storeTo runs Store into a new installer at dir/name and commits it.
func storeTo(t testing.TB, path string, refs []string, opts Options) ([]payload.File, []payload.Image, error) {
	t.Helper()
	w, err := payload.Create(path, payload.WithChunkSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStub(strings.NewReader("#!/bin/sh\necho fake stub\nexit 0\n")); err != nil {
		t.Fatal(err)
	}
	files, images, err := Store(context.Background(), refs, w, opts)
	if err != nil {
		w.Abort()
		return nil, nil, err
	}
	if err := w.Commit(payload.Meta{Platform: "linux/amd64", Files: files, Images: images}); err != nil {
		t.Fatal(err)
	}
	return files, images, nil
}

type authnBasic = authn.Basic

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
