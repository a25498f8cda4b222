package artifact

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// testRegistry is a distribution/v3 registry on loopback, storing on disk
// (so a test can corrupt a blob), that counts what it is sent and asked.
type testRegistry struct {
	host string
	root string // the storage's root directory

	mu        sync.Mutex
	uploaded  int64          // request body bytes of blob uploads
	blobGets  map[string]int // GETs of blobs, by digest
	manifests int            // GETs and HEADs of manifests
}

func newRegistry(t testing.TB, user, password string) *testRegistry {
	t.Helper()
	logrus.SetOutput(io.Discard)
	r := &testRegistry{root: t.TempDir(), blobGets: map[string]int{}}
	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = "test-secret"
	cfg.Storage = configuration.Storage{
		"filesystem":  configuration.Parameters{"rootdirectory": r.root},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(file, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "test", "path": file}}
	}
	app := handlers.NewApp(context.Background(), cfg)
	srv := httptest.NewServer(r.count(app))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		switch {
		case strings.Contains(p, "/blobs/uploads/") && req.Body != nil:
			req.Body = &countingBody{ReadCloser: req.Body, r: r}
		case strings.Contains(p, "/blobs/") && req.Method == http.MethodGet:
			r.mu.Lock()
			r.blobGets[p[strings.LastIndex(p, "/")+1:]]++
			r.mu.Unlock()
		case strings.Contains(p, "/manifests/"):
			r.mu.Lock()
			r.manifests++
			r.mu.Unlock()
		}
		next.ServeHTTP(w, req)
	})
}

type countingBody struct {
	io.ReadCloser
	r *testRegistry
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.r.mu.Lock()
	c.r.uploaded += int64(n)
	c.r.mu.Unlock()
	return n, err
}

// reset zeroes the counters.
func (r *testRegistry) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uploaded, r.blobGets, r.manifests = 0, map[string]int{}, 0
}

func (r *testRegistry) uploadedBytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uploaded
}

func (r *testRegistry) blobFetches() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.blobGets {
		out[k] = v
	}
	return out
}

// blobFile is where the registry stores blob digest ("sha256:...").
func (r *testRegistry) blobFile(digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(r.root, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
}
