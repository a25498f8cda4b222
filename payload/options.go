package payload

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// What a Writer is told: its sizes and options, and the sources it stores.

// DefaultChunkSize is the uncompressed size of a chunk: large enough for a good
// ratio, small enough that chunks of one big file compress and decompress in
// parallel and a random read decodes little.
const DefaultChunkSize = 4 << 20

// MaxChunkSize bounds chunks, so that a reader never allocates more than this
// for one, whatever an index claims.
const MaxChunkSize = 64 << 20

// DefaultSolidSize is the size under which sources that may be compressed are
// packed back to back into shared chunks, as a tar stream is: one zstd frame
// per small file costs up to a third of the ratio on source code.
const DefaultSolidSize = 256 << 10

// Compression says how the Writer may store a source.
type Compression int

const (
	// Auto compresses each chunk and keeps the raw bytes when that does not pay.
	Auto Compression = iota
	// Never stores the bytes as they are (image layers are already compressed).
	Never
)

// Source is one piece of content to store.
type Source struct {
	Name     string // for error messages
	Open     func() (io.ReadCloser, error)
	Compress Compression
	// Digest, when set, is the "sha256:<hex>" of the content, already known
	// and verified by the caller (a blob from a verified cache). The Writer
	// then trusts it: it does not hash the content, and it does not even open
	// a source whose digest is already stored.
	Digest string
}

// Option configures a Writer.
type Option func(*Writer)

// WithSplit stores the data area in parts of at most size bytes each (the part
// header included), beside the main file, which then holds only stub and index.
func WithSplit(size int64) Option { return func(w *Writer) { w.splitSize = size } }

// WithConcurrency sets the number of compressing goroutines.
func WithConcurrency(n int) Option { return func(w *Writer) { w.workers = max(1, n) } }

// WithLevel sets the zstd level.
func WithLevel(l zstd.EncoderLevel) Option { return func(w *Writer) { w.level = l } }

// WithChunkSize sets the chunk size (tests use small ones).
func WithChunkSize(n int) Option {
	return func(w *Writer) { w.chunkSize = min(max(1, n), MaxChunkSize) }
}

// WithSolidSize sets the size under which Auto sources share chunks
// (DefaultSolidSize); 0 gives every source chunks of its own.
func WithSolidSize(n int) Option { return func(w *Writer) { w.solidSize = max(0, n) } }

// IsCompressed guesses from a name whether content is already compressed, so
// builders can skip trying (Never).
func IsCompressed(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz", ".tgz", ".zst", ".xz", ".bz2", ".zip", ".jar", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".7z", ".lz4", ".br", ".mp4", ".woff2":
		return true
	}
	return false
}
