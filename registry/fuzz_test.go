package registry

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequests throws arbitrary paths, ns values and methods at a registry
// carrying a few images: whatever the request, the answer is never a 500
// and writes are never accepted.
func FuzzRequests(f *testing.F) {
	l := newLayout(f)
	img := randomImage(f, 256, 1, "linux", "amd64")
	l.add(carry{name: "docker.io/library/foo:1", img: img})
	l.add(carry{name: "quay.io/library/foo:1", img: randomImage(f, 256, 1, "linux", "amd64")})
	l.add(carry{name: "ghcr.io/x/multi:2", idx: randomIndex(f, "linux/amd64", "linux/arm64"), only: []string{"linux/amd64"}})
	h := must(New(PayloadStore(l.write(f.TempDir(), nil))))
	d := digestOf(f, img)
	layer := must(must(img.Layers())[0].Digest()).String()
	for _, seed := range []struct{ method, path, ns string }{
		{"GET", "/v2/", ""},
		{"GET", "/v2/library/foo/manifests/1", "docker.io"},
		{"HEAD", "/v2/foo/manifests/" + d, ""},
		{"GET", "/v2/library/foo/blobs/" + layer, "quay.io"},
		{"GET", "/v2/x/multi/blobs/" + layer, "ghcr.io"},
		{"GET", "/v2/_catalog", ""},
		{"GET", "/v2/library/foo/tags/list", "127.0.0.1:5000"},
		{"PUT", "/v2/library/foo/manifests/1", ""},
		{"GET", "/v2/library/foo/blobs/uploads/abc", ""},
		{"GET", "/v2/../../etc/passwd", ""},
		{"GET", "/v2/library/foo/manifests/sha256:" + strings.Repeat("0", 64), "docker.io/../x"},
	} {
		f.Add(seed.method, seed.path, seed.ns)
	}
	f.Fuzz(func(t *testing.T, method, path, ns string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") {
			return // not an HTTP token: net/http never hands such a request over
		}
		req := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: url.Values{"ns": {ns}}.Encode()},
			Header: http.Header{}, Host: "registry.test", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		req.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?ns=%s: %d %s", method, path, ns, rec.Code, rec.Body.String())
		}
		if method != "GET" && method != "HEAD" && rec.Code < 400 {
			t.Fatalf("%s %s accepted: %d", method, path, rec.Code)
		}
	})
}
