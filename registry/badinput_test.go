package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/payload"
)

func TestBadPayload(t *testing.T) {
	img := randomImage(t, 100, 1, "linux", "amd64")
	imgDigest := digestOf(t, img)
	notJSON := []byte("this is not a manifest")
	notJSONDigest := sha(notJSON)
	entry := func(d, name string) string {
		return `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d +
			`","size":1,"annotations":{"io.containerd.image.name":"` + name + `"}}]}`
	}
	tests := []struct {
		name  string
		index string
		want  []string // substrings of the error
	}{
		{"index is not JSON", "{", []string{"images/index.json"}},
		{"manifest not in payload", entry("sha256:"+strings.Repeat("0", 64), "docker.io/library/foo:1"), []string{"images/index.json", "manifests[0]", "sha256:0000", "is not carried"}},
		{"bad image name", entry(imgDigest, "UPPER/Case:1"), []string{"manifests[0]", `"UPPER/Case:1"`}},
		{"manifest is not JSON", entry(notJSONDigest, "docker.io/library/foo:1"), []string{"docker.io/library/foo:1", notJSONDigest}},
		{"same tag twice", `{"manifests":[` +
			`{"digest":"` + imgDigest + `","size":1,"annotations":{"io.containerd.image.name":"docker.io/library/foo:1"}},` +
			`{"digest":"` + notJSONDigest + `","size":1,"annotations":{"io.containerd.image.name":"docker.io/library/foo:1"}}]}`,
			[]string{"docker.io/library/foo:1", "twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			l.add(carry{name: "docker.io/library/foo:1", img: img})
			l.addBytes(notJSON)
			r := l.write(t.TempDir(), map[string][]byte{"images/index.json": []byte(tc.index)})
			_, err := New(PayloadStore(r))
			if err == nil {
				t.Fatal("New accepted a broken layout")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			// Push reads the same layout and must refuse it the same way.
			if err := Push(context.Background(), PayloadStore(r), "127.0.0.1:1", PushOptions{}); err == nil || !strings.Contains(err.Error(), tc.want[0]) {
				t.Errorf("Push: %v", err)
			}
		})
	}

	t.Run("nil reader", func(t *testing.T) {
		if _, err := New(nil); err == nil {
			t.Fatal("New(nil) succeeded")
		}
	})

	t.Run("unnamed entry is skipped with a warning", func(t *testing.T) {
		l := newLayout(t)
		l.add(carry{name: "docker.io/library/foo:1", img: img})
		idx := `{"manifests":[{"digest":"` + imgDigest + `","size":1}]}`
		r := l.write(t.TempDir(), map[string][]byte{"images/index.json": []byte(idx)})
		var log bytes.Buffer
		h, err := New(PayloadStore(r), WithLog(&log))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "manifests[0]") || !strings.Contains(log.String(), "not served") {
			t.Fatalf("no warning: %s", log.String())
		}
		if code := serveCode(h, "/v2/library/foo/manifests/1"); code != http.StatusNotFound {
			t.Fatalf("unnamed image served: %d", code)
		}
	})
}

func TestPayloadWithoutImages(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.run")
	w := must(payload.Create(out))
	if err := w.WriteStub(strings.NewReader("stub")); err != nil {
		t.Fatal(err)
	}
	ds := must(w.Add(context.Background(), []payload.Source{{Name: "a", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }}}))
	if err := w.Commit(payload.Meta{Files: []payload.File{{Path: "a", Type: payload.TypeFile, Mode: 0o644, Size: 1, Digest: ds[0]}}}); err != nil {
		t.Fatal(err)
	}
	r := must(payload.Open(out))
	defer r.Close()
	h, err := New(PayloadStore(r))
	if err != nil {
		t.Fatal(err)
	}
	if code := serveCode(h, "/v2/"); code != 200 {
		t.Fatalf("/v2/: %d", code)
	}
	if code := serveCode(h, "/v2/library/foo/manifests/1"); code != 404 {
		t.Fatalf("manifest: %d", code)
	}
	var log bytes.Buffer
	if err := Push(context.Background(), PayloadStore(r), "127.0.0.1:1", PushOptions{Out: &log}); err != nil || !strings.Contains(log.String(), "no images") {
		t.Fatalf("Push: %v, %s", err, log.String())
	}
}

func serveCode(h http.Handler, path string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code
}

func TestDriverIsReadOnly(t *testing.T) {
	l := newLayout(t)
	l.add(carry{name: "docker.io/library/foo:1", img: randomImage(t, 100, 1, "linux", "amd64")})
	d := newPayloadDriver(must(loadCatalog(PayloadStore(l.write(t.TempDir(), nil)))))
	ctx := context.Background()
	p := storageRoot + "/repositories/docker.io/library/foo/_manifests/tags/1/current/link"
	_, werr := d.Writer(ctx, p, false)
	for _, err := range []error{d.PutContent(ctx, p, []byte("x")), werr, d.Move(ctx, p, p+"2"), d.Delete(ctx, p)} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("write: %v, want ErrReadOnly", err)
		}
	}
	if got := string(must(d.GetContent(ctx, p))); !strings.HasPrefix(got, "sha256:") {
		t.Fatalf("tag link holds %q", got)
	}
}
