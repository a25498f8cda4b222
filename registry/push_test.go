package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// targetRegistry starts a distribution/v3 registry (in-memory storage) on
// loopback, as a customer's registry. With user set, it wants basic auth.
func targetRegistry(t *testing.T, user, password string) string {
	t.Helper()
	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = "test-secret"
	cfg.Catalog.MaxEntries = 1000
	cfg.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	if user != "" {
		hash := must(bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost))
		file := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(file, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "test", "path": file}}
	}
	quiet := logrus.New()
	quiet.SetOutput(new(bytes.Buffer))
	entry := logrus.NewEntry(quiet)
	ctx := withLogger(context.Background(), entry)
	app := handlers.NewApp(ctx, cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.ServeHTTP(w, r.WithContext(withLogger(r.Context(), entry)))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushPayload carries images that push to distinct destinations.
type pushPayload struct {
	foo, other, pinned v1.Image
	multi, full, three v1.ImageIndex
	layout             *layout
}

func newPushPayload(t *testing.T) *pushPayload {
	p := &pushPayload{
		foo:    randomImage(t, 32<<10, 2, "linux", "amd64"),
		other:  randomImage(t, 1024, 1, "linux", "amd64"),
		pinned: randomImage(t, 1024, 1, "linux", "amd64"),
		multi:  randomIndex(t, "linux/amd64", "linux/arm64"),
		full:   randomIndex(t, "linux/amd64", "linux/arm64"),
		three:  randomIndex(t, "linux/amd64", "linux/arm64", "linux/s390x"),
		layout: newLayout(t),
	}
	l := p.layout
	l.add(carry{name: "docker.io/library/foo:1", img: p.foo})
	l.add(carry{name: "docker.io/library/foo:latest", img: p.foo})
	l.add(carry{name: "quay.io/other/img:2", img: p.other})
	l.add(carry{name: "docker.io/library/pinned@" + digestOf(t, p.pinned), img: p.pinned})
	l.add(carry{name: "ghcr.io/x/multi:2", idx: p.multi, only: []string{"linux/amd64"}})
	l.add(carry{name: "docker.io/library/full:3", idx: p.full})
	l.add(carry{name: "docker.io/library/three:4", idx: p.three, only: []string{"linux/amd64", "linux/arm64"}})
	return p
}

func TestPush(t *testing.T) {
	p := newPushPayload(t)
	r := p.layout.write(t.TempDir(), nil)
	target := targetRegistry(t, "", "")

	t.Run("a partial index is refused as it is", func(t *testing.T) {
		// Why Push rewrites: distribution refuses an index whose manifests are missing.
		ref := must(name.ParseReference(target + "/check/multi:1"))
		err := remote.Put(ref, p.multi)
		if err == nil || !strings.Contains(err.Error(), "MANIFEST_BLOB_UNKNOWN") {
			t.Fatalf("want MANIFEST_BLOB_UNKNOWN, got %v", err)
		}
	})

	var log bytes.Buffer
	if err := Push(context.Background(), PayloadStore(r), target+"/project", PushOptions{Out: &log}); err != nil {
		t.Fatalf("push: %v\n%s", err, log.String())
	}
	t.Log(log.String())

	pull := func(t *testing.T, ref string) v1.Image {
		t.Helper()
		img, err := remote.Image(must(name.ParseReference(target + "/project/" + ref)))
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return img
	}
	tests := []struct {
		ref, want string
	}{
		{"library/foo:1", digestOf(t, p.foo)},
		{"library/foo:latest", digestOf(t, p.foo)},
		{"other/img:2", digestOf(t, p.other)},
		{"library/pinned@" + digestOf(t, p.pinned), digestOf(t, p.pinned)},
		// one platform of an index: that platform's manifest under the tag
		{"x/multi:2", childDigest(t, p.multi, "linux/amd64")},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			if got := digestOf(t, pull(t, tc.ref)); got != tc.want {
				t.Fatalf("digest %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("whole index keeps its digest", func(t *testing.T) {
		idx, err := remote.Index(must(name.ParseReference(target + "/project/library/full:3")))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := digestOf(t, idx), digestOf(t, p.full); got != want {
			t.Fatalf("digest %s, want %s", got, want)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two of three platforms: an index of those two", func(t *testing.T) {
		idx, err := remote.Index(must(name.ParseReference(target + "/project/library/three:4")))
		if err != nil {
			t.Fatal(err)
		}
		im := must(idx.IndexManifest())
		var got []string
		for _, m := range im.Manifests {
			got = append(got, m.Platform.OS+"/"+m.Platform.Architecture+"="+m.Digest.String())
		}
		want := []string{"linux/amd64=" + childDigest(t, p.three, "linux/amd64"), "linux/arm64=" + childDigest(t, p.three, "linux/arm64")}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("manifests %v, want %v", got, want)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatal(err)
		}
	})
	for _, want := range []string{
		"ghcr.io/x/multi:2 is carried for linux/amd64 only (of 2 platforms): pushed as that platform's manifest " + childDigest(t, p.multi, "linux/amd64"),
		"docker.io/library/three:4 is carried for linux/amd64, linux/arm64 (of 3 platforms)",
		"pushed 7 images",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}

	t.Run("again: nothing to do, no error", func(t *testing.T) {
		if err := Push(context.Background(), PayloadStore(r), target+"/project", PushOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("to the registry root", func(t *testing.T) {
		if err := Push(context.Background(), PayloadStore(r), "http://"+target, PushOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := digestOf(t, must(remote.Image(must(name.ParseReference(target+"/library/foo:1"))))); got != digestOf(t, p.foo) {
			t.Fatalf("digest %s", got)
		}
	})
}

func TestPushRefusesCollisions(t *testing.T) {
	l := newLayout(t)
	l.add(carry{name: "docker.io/foo/bar:1", img: randomImage(t, 100, 1, "linux", "amd64")})
	l.add(carry{name: "quay.io/foo/bar:1", img: randomImage(t, 100, 1, "linux", "amd64")})
	r := l.write(t.TempDir(), nil)
	target := targetRegistry(t, "", "")
	err := Push(context.Background(), PayloadStore(r), target, PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "docker.io/foo/bar:1 and quay.io/foo/bar:1") {
		t.Fatalf("want a collision error naming both, got %v", err)
	}
	if _, err := remote.Head(must(name.ParseReference(target + "/foo/bar:1"))); err == nil {
		t.Fatal("something was pushed before the collision was found")
	}
}

func TestPushAuth(t *testing.T) {
	l := newLayout(t)
	img := randomImage(t, 1024, 1, "linux", "amd64")
	l.add(carry{name: "docker.io/library/foo:1", img: img})
	r := l.write(t.TempDir(), nil)
	target := targetRegistry(t, "admin", "s3cret")
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no stray credentials

	t.Run("anonymous", func(t *testing.T) {
		err := Push(context.Background(), PayloadStore(r), target, PushOptions{})
		if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "docker.io/library/foo:1") ||
			!strings.Contains(err.Error(), "--username") {
			t.Fatalf("want 401 naming the image and what to do, got %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		err := Push(context.Background(), PayloadStore(r), target, PushOptions{Username: "admin", Password: "nope"})
		if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
			t.Fatalf("want 401, got %v", err)
		}
		if strings.Contains(err.Error(), "nope") {
			t.Fatalf("the password is in the error: %v", err)
		}
	})
	t.Run("username and password", func(t *testing.T) {
		if err := Push(context.Background(), PayloadStore(r), target, PushOptions{Username: "admin", Password: "s3cret"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("docker config", func(t *testing.T) {
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
		cfg := `{"auths":{"` + target + `":{"auth":"` + auth + `"}}}`
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		if err := Push(context.Background(), PayloadStore(r), target+"/viaconfig", PushOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPushBadTarget(t *testing.T) {
	l := newLayout(t)
	l.add(carry{name: "docker.io/library/foo:1", img: randomImage(t, 100, 1, "linux", "amd64")})
	r := l.write(t.TempDir(), nil)
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	tests := []struct {
		target string
		want   []string
	}{
		{"", []string{"no registry host"}},
		{"/project", []string{"no registry host"}},
		{"Bad Host!", []string{`"Bad Host!"`}},
		{"127.0.0.1:5000/UPPER", []string{"UPPER"}},
		{downAddr, []string{"docker.io/library/foo:1", downAddr, "refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			err := Push(context.Background(), PayloadStore(r), tc.target, PushOptions{})
			if err == nil {
				t.Fatal("push succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
