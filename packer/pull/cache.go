package pull

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// cache is a directory of blobs named by digest, shared by builds. Entries
// appear atomically (written beside, then renamed) and are checked against
// their digest before use; a bad entry is removed and fetched again.
type cache struct{ dir string }

func openCache(root string) (*cache, error) {
	if root == "" {
		return nil, nil
	}
	dir := filepath.Join(root, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blob cache: %w", err)
	}
	return &cache{dir: dir}, nil
}

func (c *cache) path(digest string) string {
	return filepath.Join(c.dir, strings.TrimPrefix(digest, "sha256:"))
}

// has reports whether an entry of the right size exists (not yet verified).
func (c *cache) has(digest string, size int64) bool {
	if c == nil {
		return false
	}
	st, err := os.Stat(c.path(digest))
	return err == nil && st.Mode().IsRegular() && st.Size() == size
}

// verify checks the entry's content against its digest and removes it when
// it does not match.
func (c *cache) verify(digest string, size int64) bool {
	if !c.has(digest, size) {
		return false
	}
	f, err := os.Open(c.path(digest))
	if err != nil {
		return false
	}
	h := sha256.New()
	_, err = io.CopyBuffer(h, f, make([]byte, 1<<20))
	f.Close()
	if err == nil && "sha256:"+hex.EncodeToString(h.Sum(nil)) == digest {
		return true
	}
	os.Remove(c.path(digest))
	return false
}

// read returns a small entry's content, verified; false when it is missing
// or bad (a bad entry is removed).
func (c *cache) read(digest string, limit int64) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	f, err := os.Open(c.path(digest))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(data)) > limit {
		return nil, false
	}
	sum := sha256.Sum256(data)
	if "sha256:"+hex.EncodeToString(sum[:]) != digest {
		os.Remove(c.path(digest))
		return nil, false
	}
	return data, true
}

// put stores data that is known to match digest.
func (c *cache) put(digest string, data []byte) error {
	if c == nil {
		return nil
	}
	t, err := c.create(digest)
	if err != nil {
		return err
	}
	if _, err := t.Write(data); err != nil {
		t.discard()
		return fmt.Errorf("blob cache: %w", err)
	}
	return t.commit()
}

// create starts an entry; commit it once its content has been verified.
func (c *cache) create(digest string) (*entry, error) {
	f, err := os.CreateTemp(c.dir, ".tmp-"+strings.TrimPrefix(digest, "sha256:")[:12]+"-*")
	if err != nil {
		return nil, fmt.Errorf("blob cache: %w", err)
	}
	return &entry{File: f, final: c.path(digest)}, nil
}

// entry is a cache file being written.
type entry struct {
	*os.File
	final string
}

func (e *entry) commit() error {
	if err := e.Close(); err != nil {
		os.Remove(e.Name())
		return fmt.Errorf("blob cache: %w", err)
	}
	if err := os.Rename(e.Name(), e.final); err != nil {
		os.Remove(e.Name())
		return fmt.Errorf("blob cache: %w", err)
	}
	return nil
}

func (e *entry) discard() {
	e.Close()
	os.Remove(e.Name())
}
