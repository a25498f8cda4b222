package registry_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/sealpack/sealpack/registry"
)

// A master's registry starts over its layout without reading a layer or a
// config (it neither scans nor hashes at start, so 2 GB of images start as
// fast as 2 MB): registry.New over a layout whose layers are files of the
// right size that cannot be read (mode 000, and a store that fails every
// read of them, since root reads mode 000 files) serves /v2/, the tags and
// the manifests, and HEAD of a layer (its size comes from a stat).
func TestLayoutStartsWithoutReadingBlobs(t *testing.T) {
	dir := t.TempDir()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(data []byte) string {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
		if err := os.WriteFile(filepath.Join(blobs, d[len("sha256:"):]), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	guard := map[string]bool{} // layers and configs: never read at start
	const layerSize = 256 << 20
	var entries []any
	var manifests []string
	var layer string // app0's first layer
	for i := range 3 {
		var layers []any
		for j := range 2 {
			// Sparse, and not what its name says: reading it would fail the digest.
			d := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprintf("layer %d/%d", i, j))))
			p := filepath.Join(blobs, d[len("sha256:"):])
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(layerSize)
			f.Close()
			if err := os.Chmod(p, 0); err != nil {
				t.Fatal(err)
			}
			guard[d] = true
			if layer == "" {
				layer = d
			}
			layers = append(layers, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": layerSize})
		}
		cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers"}})
		cd := put(cfg)
		guard[cd] = true
		man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
			"layers": layers})
		md := put(man)
		manifests = append(manifests, md)
		entries = append(entries, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
			"annotations": map[string]string{"io.containerd.image.name": fmt.Sprintf("docker.io/library/app%d:1", i)}})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
	os.WriteFile(filepath.Join(dir, registry.LayoutIndex), idx, 0o644)
	os.WriteFile(filepath.Join(dir, registry.LayoutMarker), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)

	st, err := registry.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	gs := &guardedStore{Store: st, guard: guard}
	h, err := registry.New(gs)
	if err != nil {
		t.Fatalf("the registry does not start over a layout whose layers cannot be read: %v", err)
	}
	srv := httptest.NewServer(h)
	defer func() {
		srv.Close()
		if c, ok := h.(io.Closer); ok {
			c.Close()
		}
	}()
	get := func(method, path, accept string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := get(http.MethodGet, "/v2/", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/: HTTP %d", resp.StatusCode)
	}
	for i, md := range manifests {
		resp := get(http.MethodGet, fmt.Sprintf("/v2/library/app%d/manifests/1", i), "application/vnd.oci.image.manifest.v1+json")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != md {
			t.Errorf("manifest of app%d: HTTP %d, digest %q, want %s", i, resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), md)
		}
	}
	resp := get(http.MethodHead, "/v2/library/app0/blobs/"+layer, "")
	if n, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); resp.StatusCode != http.StatusOK || n != layerSize {
		t.Errorf("HEAD of a layer: HTTP %d, Content-Length %d, want 200 and %d", resp.StatusCode, n, layerSize)
	}
	if r := gs.reads(); len(r) > 0 {
		t.Errorf("starting and serving /v2/, manifests and HEAD read these layers and configs: %v", r)
	}
	// The guard is in the way of every read: a GET of the layer goes
	// through it (and fails), so no read above slipped past it.
	get(http.MethodGet, "/v2/library/app0/blobs/"+layer, "")
	if len(gs.reads()) == 0 {
		t.Errorf("a GET of a layer did not open it through the store: the guard proves nothing")
	}
}

// guardedStore fails every read of the blobs in guard, and records it.
type guardedStore struct {
	registry.Store
	guard map[string]bool
	mu    sync.Mutex
	read  []string
}

func (s *guardedStore) Open(d string, offset int64) (io.ReadCloser, error) {
	if s.guard[d] {
		s.mu.Lock()
		s.read = append(s.read, d)
		s.mu.Unlock()
		return nil, fmt.Errorf("%s: unreadable (test)", d)
	}
	return s.Store.Open(d, offset)
}

func (s *guardedStore) reads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.read...)
}
