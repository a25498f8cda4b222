// Package payload reads and writes the sealpack payload: the content-addressed
// archive appended to the installer stub. See FORMAT.md for the byte layout.
package payload

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Errors returned by the Reader. They are wrapped with context; test with errors.Is.
var (
	ErrFormat   = errors.New("payload: not a sealpack payload (no trailer at the end of the file: truncated, or not an installer)")
	ErrChecksum = errors.New("payload: checksum mismatch")
	ErrPart     = errors.New("payload: split part missing or wrong")
	ErrNotFound = errors.New("payload: no such entry")
)

// FormatError reports a malformed payload at a given offset.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("payload: corrupt at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap lets errors.Is(err, ErrFormat) hold for every FormatError.
func (e *FormatError) Unwrap() error { return ErrFormat }

// FileType says what a File entry is.
type FileType string

const (
	TypeFile    FileType = "file"
	TypeDir     FileType = "dir"
	TypeSymlink FileType = "symlink"
)

// File is one path of the image rootfs.
type File struct {
	Path   string      `json:"path"` // slash-separated, relative, clean
	Type   FileType    `json:"type"`
	Mode   fs.FileMode `json:"mode"` // permission bits only
	Size   int64       `json:"size,omitempty"`
	Digest string      `json:"digest,omitempty"` // "sha256:<hex>" of the content; a key into Blobs
	Target string      `json:"target,omitempty"` // symlink target
}

// Chunk is one independently stored piece of a blob.
type Chunk struct {
	Offset  int64  `json:"o"`           // data offset of the stored bytes
	Stored  int64  `json:"s"`           // stored (possibly compressed) length
	Size    int64  `json:"u"`           // uncompressed length
	Zstd    bool   `json:"z,omitempty"` // a zstd frame; else raw bytes
	SHA256  string `json:"h"`           // hex sha256 of the stored bytes
	Logical int64  `json:"-"`           // offset of this chunk inside the blob, filled on load
}

// Blob is a content-addressed entry, stored once whatever number of files or
// images refer to it.
type Blob struct {
	Digest string  `json:"digest"` // "sha256:<hex>" of the uncompressed content
	Size   int64   `json:"size"`
	Chunks []Chunk `json:"chunks"`
}

// Raw reports whether every chunk of b is stored uncompressed and back to
// back, so that the blob is one section of the data area.
func (b *Blob) Raw() bool {
	for i, c := range b.Chunks {
		if c.Zstd || (i > 0 && c.Offset != b.Chunks[i-1].Offset+b.Chunks[i-1].Stored) {
			return false
		}
	}
	return true
}

// Image describes one container image carried in the rootfs's OCI layout.
type Image struct {
	Name     string `json:"name"`     // full reference as carried, tag included
	Digest   string `json:"digest"`   // manifest (or index) digest
	Platform string `json:"platform"` // os/arch[/variant], or several joined by ","
	Size     int64  `json:"size"`     // bytes of every blob the image needs
}

// Part is one split file that holds a range of the data area.
type Part struct {
	Suffix string `json:"suffix"` // appended to the installer's path: ".001"
	Size   int64  `json:"size"`   // bytes of data in the part (its header aside)
}

// Index is everything the installer knows about its payload without reading
// the data area.
type Index struct {
	Version    int               `json:"version"`
	Platform   string            `json:"platform"` // linux/amd64
	Labels     map[string]string `json:"labels,omitempty"`
	Env        []string          `json:"env,omitempty"`
	Cmds       []string          `json:"cmds,omitempty"`
	Files      []File            `json:"files"`
	Images     []Image           `json:"images,omitempty"`
	Blobs      []Blob            `json:"blobs"`
	Parts      []Part            `json:"parts,omitempty"`
	StubSize   int64             `json:"stubSize"`   // bytes before the payload
	StubSHA256 string            `json:"stubSha256"` // hex sha256 of those bytes
	DataSize   int64             `json:"dataSize"`   // bytes of the data area
}

// Meta is the part of the Index a builder supplies; the Writer fills the rest.
type Meta struct {
	Platform string
	Labels   map[string]string
	Env      []string
	Cmds     []string
	Files    []File
	Images   []Image
}

// validate checks the internal consistency of an index read from disk, so a
// crafted or corrupt index cannot make the Reader index out of range.
func (x *Index) validate() error {
	if x.Version != Version {
		return fmt.Errorf("payload: format version %d, this build reads %d", x.Version, Version)
	}
	if x.DataSize < 0 || x.StubSize < 0 {
		return &FormatError{Msg: "negative size in index"}
	}
	seen := make(map[string]bool, len(x.Blobs))
	for i := range x.Blobs {
		b := &x.Blobs[i]
		if !validDigest(b.Digest) {
			return &FormatError{Msg: fmt.Sprintf("blob %d: bad digest %q", i, b.Digest)}
		}
		if seen[b.Digest] {
			return &FormatError{Msg: "duplicate blob " + b.Digest}
		}
		seen[b.Digest] = true
		var logical int64
		for j := range b.Chunks {
			c := &b.Chunks[j]
			if c.Offset < 0 || c.Stored < 0 || c.Size < 0 || c.Offset > x.DataSize || c.Stored > x.DataSize-c.Offset {
				return &FormatError{Offset: c.Offset, Msg: fmt.Sprintf("blob %s: chunk %d out of range", b.Digest, j)}
			}
			if c.Size > MaxChunkSize || c.Stored > MaxChunkSize+MaxChunkSize/64 {
				return &FormatError{Offset: c.Offset, Msg: fmt.Sprintf("blob %s: chunk %d is larger than %d bytes", b.Digest, j, MaxChunkSize)}
			}
			if !c.Zstd && c.Stored != c.Size {
				return &FormatError{Offset: c.Offset, Msg: fmt.Sprintf("blob %s: raw chunk %d has two sizes", b.Digest, j)}
			}
			c.Logical = logical
			logical += c.Size
		}
		if logical != b.Size {
			return &FormatError{Msg: fmt.Sprintf("blob %s: chunks hold %d bytes, size says %d", b.Digest, logical, b.Size)}
		}
	}
	for _, f := range x.Files {
		if err := ValidPath(f.Path); err != nil {
			return err
		}
		if f.Type == TypeFile && !seen[f.Digest] {
			return &FormatError{Msg: fmt.Sprintf("file %s: no blob %s", f.Path, f.Digest)}
		}
	}
	var sum int64
	for _, p := range x.Parts {
		if p.Size < 0 || !strings.HasPrefix(p.Suffix, ".") || strings.ContainsAny(p.Suffix, "/\\") {
			return &FormatError{Msg: fmt.Sprintf("bad part %q", p.Suffix)}
		}
		sum += p.Size
	}
	if len(x.Parts) > 0 && sum != x.DataSize {
		return &FormatError{Msg: "split parts do not add up to the data size"}
	}
	return nil
}

// ValidPath reports whether p is a clean, relative, slash-separated path that
// stays inside the directory it is joined to.
func ValidPath(p string) error {
	if p == "" || p == "." || path.IsAbs(p) || path.Clean(p) != p || p == ".." ||
		strings.HasPrefix(p, "../") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return &FormatError{Msg: fmt.Sprintf("unsafe path %q", p)}
	}
	return nil
}

func validDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
