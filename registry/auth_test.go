package registry

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

func TestHtpasswd(t *testing.T) {
	l := newLayout(t)
	img := randomImage(t, 4096, 1, "linux", "amd64")
	l.add(carry{name: "docker.io/library/foo:1", img: img})
	r := l.write(t.TempDir(), nil)
	hash := must(bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost))
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte("puller:"+string(hash)+"\n"), 0o600)

	if _, err := New(PayloadStore(r), WithHtpasswd(filepath.Join(t.TempDir(), "missing"))); err == nil || !strings.Contains(err.Error(), "htpasswd") {
		t.Fatalf("a missing htpasswd file: %v, want an error (distribution would invent a user)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait, err := Serve(ctx, PayloadStore(r), "127.0.0.1:0", WithHtpasswd(file))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); wait() }()

	code, hdr, _ := get(t, http.MethodGet, "http://"+addr+"/v2/library/foo/manifests/1", nil)
	if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("without credentials: HTTP %d, WWW-Authenticate %q; want 401 and a Basic challenge", code, hdr.Get("WWW-Authenticate"))
	}
	ref := must(name.ParseReference(addr + "/library/foo:1"))
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "puller", Password: "wrong"})); err == nil {
		t.Error("a wrong password pulled")
	}
	got, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "puller", Password: "s3cret"}))
	if err != nil {
		t.Fatalf("pull with the credentials: %v", err)
	}
	if digestOf(t, got) != digestOf(t, img) {
		t.Error("pulled another image")
	}
}
