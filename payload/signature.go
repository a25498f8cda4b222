package payload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// The signature block (FORMAT.md, "Signature block"): bytes this package
// stores and returns as they are, between the index and the trailer, where
// trailer flag bit 1 says there is one. What they hold (a DSSE envelope over
// the index sha256) is internal/signature's business: the trailer's index
// sha256 already covers the whole installer, since the index names the
// program's hash and every chunk's.

// MaxSignatureSize bounds the content of a signature block, so that a
// corrupt length cannot make a reader allocate without limit. An envelope
// with one signature takes about 1 KiB.
const MaxSignatureSize = 64 << 10

// signatureHeaderSize is the block's fixed header: magic, length, CRC-32.
const signatureHeaderSize = 16

var signatureMagic = [8]byte{'S', 'P', 'A', 'K', 'S', 'I', 'G', '1'}

// ErrSignatureBlock is returned, wrapped with what is wrong, when the
// trailer says the installer is signed and its signature block cannot be
// read.
var ErrSignatureBlock = errors.New("payload: signature block truncated or garbled")

// Signer signs an installer, at Commit (WithSigner) or in place (SignFile).
// It is given the sha256 of the stored index and the index itself (which it
// must not modify), and returns the content of the signature block, at most
// MaxSignatureSize bytes.
type Signer func(indexSHA [32]byte, idx *Index) ([]byte, error)

// WithSigner signs the installer at Commit, once the index is written, so
// that a build signs in the same pass. A signer that gives the same bytes
// for the same index keeps the build reproducible.
func WithSigner(s Signer) Option { return func(w *Writer) { w.signer = s } }

// signatureBlock is the block that Commit writes between index and trailer:
// nil without a signer.
func (w *Writer) signatureBlock(indexSHA [32]byte, idx *Index) ([]byte, error) {
	if w.signer == nil {
		return nil, nil
	}
	content, err := w.signer(indexSHA, idx)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", w.path, err)
	}
	return marshalSignature(content)
}

// marshalSignature frames content as a signature block. Layout (little
// endian):
//
//	0  magic "SPAKSIG1"       8
//	8  content length uint32  4 (at most MaxSignatureSize)
//	12 CRC-32 (IEEE) of the content 4
//	16 content
func marshalSignature(content []byte) ([]byte, error) {
	if len(content) == 0 || len(content) > MaxSignatureSize {
		return nil, fmt.Errorf("payload: a signature of %d bytes (1 to %d)", len(content), MaxSignatureSize)
	}
	b := make([]byte, signatureHeaderSize, signatureHeaderSize+len(content))
	copy(b, signatureMagic[:])
	binary.LittleEndian.PutUint32(b[8:], uint32(len(content)))
	binary.LittleEndian.PutUint32(b[12:], crc32.ChecksumIEEE(content))
	return append(b, content...), nil
}

// readSignature reads the signature block of a signed installer: every
// byte between the end of the index and the trailer.
func readSignature(ra io.ReaderAt, size int64, t *trailer) ([]byte, error) {
	at := t.indexOffset + t.indexLen
	n := size - TrailerSize - at
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w (at offset %d): %s", ErrSignatureBlock, at, fmt.Sprintf(format, args...))
	}
	switch {
	case n == 0:
		return nil, fail("the trailer says signed, but no block lies between index and trailer")
	case n < signatureHeaderSize:
		return nil, fail("%d bytes, less than its %d-byte header", n, signatureHeaderSize)
	case n > signatureHeaderSize+MaxSignatureSize:
		return nil, fail("%d bytes, more than the %d a block may hold", n, signatureHeaderSize+MaxSignatureSize)
	}
	b := make([]byte, n)
	if _, err := ra.ReadAt(b, at); err != nil {
		return nil, fail("%v", err)
	}
	length := int64(binary.LittleEndian.Uint32(b[8:]))
	content := b[signatureHeaderSize:]
	switch {
	case !bytes.Equal(b[:8], signatureMagic[:]):
		return nil, fail("no block header")
	case length != int64(len(content)):
		return nil, fail("its header says %d bytes, %d lie between index and trailer", length, len(content))
	case crc32.ChecksumIEEE(content) != binary.LittleEndian.Uint32(b[12:]):
		return nil, fail("checksum mismatch")
	}
	return content, nil
}

// Signed reports whether the trailer says that the installer is signed,
// whether or not its signature block can be read.
func (r *Reader) Signed() bool { return r.signed }

// Signature returns the content of the signature block as it was stored:
// nil when the installer is not signed, or an error wrapping
// ErrSignatureBlock when the block is damaged.
func (r *Reader) Signature() ([]byte, error) { return r.sig, r.sigErr }

// SignFile adds or replaces, in place, the signature block of the installer
// at path (for a split installer, the main file: it holds the stub, the
// index and the trailer). sign is given the index as for WithSigner. Nothing
// else moves: the block and a new trailer are written where the old block
// or trailer began. The file is not synced, as Commit's is not.
func SignFile(path string, sign Signer) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	t, idx, err := readIndex(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	content, err := sign(t.indexSHA, idx)
	if err != nil {
		return fmt.Errorf("signing %s: %w", path, err)
	}
	block, err := marshalSignature(content)
	if err != nil {
		return err
	}
	t.signed = true
	end := t.indexOffset + t.indexLen
	tail := append(block, t.marshal()...)
	if _, err := f.WriteAt(tail, end); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Truncate(end + int64(len(tail))); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// ReportSignature is what inspect says of the installer's signature.
// Report fills in Signed; who signed comes from the block's content, which
// this package does not read: internal/signature does, and a check with a
// key sets CheckedWith.
type ReportSignature struct {
	Signed      bool   `json:"signed"`
	Signer      string `json:"signer,omitempty"`      // the name the signed statement gives
	KeyID       string `json:"keyId,omitempty"`       // SHA256:<base64> of the signing key
	CheckedWith string `json:"checkedWith,omitempty"` // the public key file that verified it; "" not checked
	Error       string `json:"error,omitempty"`       // why the block cannot be read or did not verify
}

// String is the signature line of inspect: "NOT SIGNED", or who signed,
// and whether that was checked.
func (s ReportSignature) String() string {
	switch {
	case !s.Signed:
		return "NOT SIGNED"
	case s.Error != "":
		return "signed, but the signature cannot be read: " + s.Error
	case s.CheckedWith != "":
		return fmt.Sprintf("signed by %s (%s), checked with %s", s.Signer, s.KeyID, s.CheckedWith)
	}
	return fmt.Sprintf("signed by %s (%s), not checked (verify --key KEY checks it)", s.Signer, s.KeyID)
}
