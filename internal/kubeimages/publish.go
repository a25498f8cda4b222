package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push stores the images on the registry at host, under their paths.
func push(host string, imgs []built) error {
	for _, b := range imgs {
		ref, err := name.ParseReference(host+"/"+b.path(), name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, b.img); err != nil {
			return fmt.Errorf("pushing %s: %w", b.name(), err)
		}
	}
	return nil
}

// readOnly refuses writes once sealed: after our own pushes, whoever pulls
// gets exactly the images that were built.
func readOnly(h http.Handler, sealed *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sealed.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "kubeimages serves read-only", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// writeLayout writes the images as an OCI image layout at dir, each named by
// its official name as containerd's import expects. The index is rewritten;
// blobs already there are kept.
func writeLayout(dir string, imgs []built) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	for _, b := range imgs {
		err := p.AppendImage(b.img,
			layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": b.name()}),
			layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
		if err != nil {
			return fmt.Errorf("writing %s into OCI layout %s: %w", b.name(), dir, err)
		}
	}
	return nil
}

// writeAddr writes addr to path through a rename, so that a reader sees
// either no file or the whole address.
func writeAddr(path, addr string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing the address: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	_, err = f.WriteString(addr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing the address to %s: %w", path, err)
	}
	return nil
}
