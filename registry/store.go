package registry

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/sealpack/sealpack/payload"
)

// A Store holds the bytes of the carried images: the installer's payload
// during an install, an OCI image layout directory on each master after it.
// The registry only reads a store; nothing in it is hashed or scanned when
// a registry starts over it.
type Store interface {
	// LayoutIndex returns the OCI layout's index.json, or an error matching
	// fs.ErrNotExist when the store carries no images.
	LayoutIndex() ([]byte, error)
	// Stat returns the size of blob d; ok is false when d is not carried.
	Stat(d string) (size int64, ok bool)
	// Open returns blob d's bytes from offset on.
	Open(d string, offset int64) (io.ReadCloser, error)
}

// PayloadStore serves the images an installer carries, straight out of its
// file.
func PayloadStore(r *payload.Reader) Store { return payloadStore{r} }

type payloadStore struct{ r *payload.Reader }

func (s payloadStore) LayoutIndex() ([]byte, error) {
	raw, err := s.r.ReadFile(layoutIndex)
	if errors.Is(err, payload.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", layoutIndex, fs.ErrNotExist)
	}
	return raw, err
}

func (s payloadStore) Stat(d string) (int64, bool) {
	b, ok := s.r.Blob(d)
	if !ok {
		return 0, false
	}
	return b.Size, true
}

// Open is a section of the installer file when the blob is stored raw
// (image layers), else the payload's random-access reader, which
// decompresses only the chunks it touches.
func (s payloadStore) Open(d string, offset int64) (io.ReadCloser, error) {
	if sec, ok := s.r.Section(d); ok {
		return io.NopCloser(io.NewSectionReader(sec, offset, sec.Size()-offset)), nil
	}
	ra, err := s.r.ReaderAt(d)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.NewSectionReader(ra, offset, ra.Size()-offset)), nil
}

// LayoutFiles are the names of an OCI image layout's metadata files.
const (
	LayoutMarker = "oci-layout"
	LayoutIndex  = "index.json"
)

// digestRE is the only digest form a layout store opens: it names a file
// under blobs/, so nothing else may reach the file system.
var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// OpenLayout serves the OCI image layout in dir (oci-layout, index.json,
// blobs/sha256/...), as the install seeds it on every master. Its blobs were
// checked against their digests when they were written there.
func OpenLayout(dir string) (Store, error) {
	if _, err := os.Stat(filepath.Join(dir, LayoutMarker)); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: %w", dir, err)
	}
	return layoutStore(dir), nil
}

type layoutStore string

func (s layoutStore) LayoutIndex() ([]byte, error) {
	return os.ReadFile(filepath.Join(string(s), LayoutIndex))
}

func (s layoutStore) path(d string) (string, bool) {
	if !digestRE.MatchString(d) {
		return "", false
	}
	return filepath.Join(string(s), "blobs", "sha256", d[len("sha256:"):]), true
}

func (s layoutStore) Stat(d string) (int64, bool) {
	p, ok := s.path(d)
	if !ok {
		return 0, false
	}
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return 0, false
	}
	return st.Size(), true
}

func (s layoutStore) Open(d string, offset int64) (io.ReadCloser, error) {
	p, ok := s.path(d)
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", d, fs.ErrNotExist)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
