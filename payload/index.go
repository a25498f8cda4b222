// Package payload reads and writes the sealpack payload: the content-addressed
// archive appended to the installer stub. See FORMAT.md for the byte layout.
package payload

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
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
	Err    error // what a decoder (zstd, JSON) said, if one failed
}

func (e *FormatError) Error() string {
	s := fmt.Sprintf("payload: corrupt at offset %d: %s", e.Offset, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap lets errors.Is(err, ErrFormat) hold for every FormatError, and
// keeps the decoder's own error in the chain for errors.As.
func (e *FormatError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFormat}
	}
	return []error{ErrFormat, e.Err}
}

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

// Chunk is one independently stored piece of the data area. Small blobs share
// chunks (solid packing), so several blobs may list the same chunk.
type Chunk struct {
	Offset  int64  `json:"o"`           // data offset of the stored bytes
	Stored  int64  `json:"s"`           // stored (possibly compressed) length
	Size    int64  `json:"u"`           // uncompressed length
	Zstd    bool   `json:"z,omitempty"` // a zstd frame; else raw bytes
	SHA256  string `json:"h"`           // hex sha256 of the stored bytes
	Logical int64  `json:"-"`           // offset of this chunk in the blob's run of chunks (Skip not subtracted), filled on load
}

// Blob is a content-addressed entry, stored once whatever number of files or
// images refer to it. Its content is bytes [Skip, Skip+Size) of the
// uncompressed chunks laid end to end; Skip is 0 unless the blob was packed
// into chunks it shares with other blobs.
type Blob struct {
	Digest string  `json:"digest"` // "sha256:<hex>" of the uncompressed content
	Size   int64   `json:"size"`
	Skip   int64   `json:"k,omitempty"` // offset of the content in the first chunk's uncompressed bytes
	Chunks []Chunk `json:"chunks"`
}

// span returns which bytes of chunk i belong to the blob: [lo, hi) of its
// uncompressed data.
func (b *Blob) span(i int) (lo, hi int64) {
	c := &b.Chunks[i]
	lo = max(0, b.Skip-c.Logical)
	hi = min(c.Size, b.Skip+b.Size-c.Logical)
	return lo, hi
}

// whole reports whether chunk i holds only bytes of b, so decoding it serves
// no other blob.
func (b *Blob) whole(i int) bool {
	lo, hi := b.span(i)
	return lo == 0 && hi == b.Chunks[i].Size
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
	Apps       []App             `json:"apps,omitempty"`   // applications (APP), see apps.go
	Launch     []string          `json:"launch,omitempty"` // the apps launched by default, in order
	Files      []File            `json:"files"`
	Images     []Image           `json:"images,omitempty"`
	SBOM       string            `json:"sbom,omitempty"` // digest of the bill of materials blob (CycloneDX 1.5 JSON); "" before sealpack wrote one
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
	Apps     []App
	Launch   []string
	Files    []File
	Images   []Image
	SBOM     string // digest of a blob added for the bill of materials, or ""
}

// validate checks the internal consistency of an index read from disk, so a
// crafted or corrupt index cannot make the Reader index out of range.
func (x *Index) validate() error {
	if x.Version < 1 || x.Version > Version {
		return fmt.Errorf("payload: format version %d, this build reads 1 to %d", x.Version, Version)
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
		if err := b.checkSpan(logical); err != nil {
			return err
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
	if err := x.validateApps(); err != nil {
		return err
	}
	if x.SBOM != "" && !seen[x.SBOM] {
		return &FormatError{Msg: "bill of materials: no blob " + x.SBOM}
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

// checkSpan checks that [Skip, Skip+Size) lies in the chunks' total bytes
// and that the blob lists exactly the chunks its content touches.
func (b *Blob) checkSpan(total int64) error {
	bad := func(msg string) error { return &FormatError{Msg: fmt.Sprintf("blob %s: %s", b.Digest, msg)} }
	if b.Size < 0 || b.Skip < 0 {
		return bad("negative size or skip")
	}
	if b.Skip > total || b.Size > total-b.Skip {
		return bad(fmt.Sprintf("bytes %d+%d lie past the %d bytes of its chunks", b.Skip, b.Size, total))
	}
	if len(b.Chunks) == 0 {
		return nil
	}
	if b.Size == 0 {
		// An empty blob needs no chunk; format version 1 wrote one empty chunk.
		if b.Skip != 0 || len(b.Chunks) > 1 || b.Chunks[0].Size != 0 {
			return bad("empty blob lists chunks")
		}
		return nil
	}
	if b.Skip >= b.Chunks[0].Size {
		return bad("skip passes its first chunk")
	}
	if b.Skip+b.Size <= b.Chunks[len(b.Chunks)-1].Logical {
		return bad("ends before its last chunk")
	}
	return nil
}

// storedChunks returns every distinct chunk of the index (a chunk shared by
// several blobs once), in data order.
func (x *Index) storedChunks() []Chunk {
	seen := map[Chunk]bool{}
	var out []Chunk
	for _, b := range x.Blobs {
		for _, c := range b.Chunks {
			c.Logical = 0
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	// Stable: an empty chunk (version 1) shares its offset with the next
	// one, and keeps its place in index order, as version 1's set id had it.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out
}

// setID ties split parts to an index: sha256 over the hash of every distinct
// stored chunk, in data order.
func (x *Index) setID() [32]byte {
	h := sha256.New()
	for _, c := range x.storedChunks() {
		io.WriteString(h, c.SHA256)
	}
	var id [32]byte
	copy(id[:], h.Sum(nil))
	return id
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
	for i := range len(hex) {
		if c := hex[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
