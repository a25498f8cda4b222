package payload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSigner stands for internal/signature: its block names the index
// sha256 it was given, so a test sees what it signed.
func fakeSigner(name string) Signer {
	return func(sha [32]byte, idx *Index) ([]byte, error) {
		return fmt.Appendf(nil, "%s signs sha256:%x of %s", name, sha, idx.Platform), nil
	}
}

// TestSignatureAtCommit: a signer given to the Writer is called once, with
// the sha256 of the index as stored (the installer's Digest), and its bytes
// come back from the Reader as they were given; the rest reads as unsigned.
func TestSignatureAtCommit(t *testing.T) {
	for _, split := range []int64{0, 3 << 20} {
		t.Run(fmt.Sprintf("split=%d", split), func(t *testing.T) {
			opts := []Option{WithSigner(fakeSigner("vendor"))}
			if split > 0 {
				opts = append(opts, WithSplit(split))
			}
			r := mustOpen(t, build(t, t.TempDir(), mixedFiles(), opts...))
			defer r.Close()
			sig, err := r.Signature()
			want := "vendor signs " + r.Digest() + " of linux/amd64"
			if err != nil || string(sig) != want || !r.Signed() {
				t.Fatalf("Signature() = %q, %v (signed %v), want %q", sig, err, r.Signed(), want)
			}
			if err := r.Verify(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			for _, f := range mixedFiles() {
				readBack(t, r, f)
			}
		})
	}
	r := mustOpen(t, build(t, t.TempDir(), mixedFiles()))
	defer r.Close()
	if sig, err := r.Signature(); sig != nil || err != nil || r.Signed() {
		t.Errorf("unsigned installer: Signature() = %q, %v, signed %v", sig, err, r.Signed())
	}
}

// TestSignFile adds a block to an unsigned installer, then replaces it with
// a longer and a shorter one: the file ends after the new trailer, the
// index and the data stay where they were, and a split installer's parts
// are not touched.
func TestSignFile(t *testing.T) {
	for _, split := range []int64{0, 3 << 20} {
		t.Run(fmt.Sprintf("split=%d", split), func(t *testing.T) {
			var opts []Option
			if split > 0 {
				opts = append(opts, WithSplit(split))
			}
			out := build(t, t.TempDir(), mixedFiles(), opts...)
			unsigned, _ := os.ReadFile(out)
			parts, _ := filepath.Glob(out + ".*")
			if (len(parts) > 0) != (split > 0) {
				t.Fatalf("parts %v with split %d", parts, split)
			}
			partBytes := map[string][]byte{}
			for _, p := range parts {
				partBytes[p], _ = os.ReadFile(p)
			}
			for _, content := range []string{"short", strings.Repeat("a much longer signature ", 40), "x"} {
				var signed [32]byte
				err := SignFile(out, func(sha [32]byte, idx *Index) ([]byte, error) {
					signed = sha
					return []byte(content), nil
				})
				if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(out)
				head := len(unsigned) - TrailerSize
				if !bytes.Equal(b[:head], unsigned[:head]) || len(b) != head+signatureHeaderSize+len(content)+TrailerSize {
					t.Fatalf("%q: the file changed before its trailer, or its length is %d", content, len(b))
				}
				r := mustOpen(t, out)
				sig, err := r.Signature()
				if err != nil || string(sig) != content || fmt.Sprintf("sha256:%x", signed) != r.Digest() {
					t.Fatalf("after SignFile(%q): %q, %v; signed sha256:%x, digest %s", content, sig, err, signed, r.Digest())
				}
				if err := r.Verify(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				r.Close()
			}
			for p, want := range partBytes {
				if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
					t.Errorf("%s changed", p)
				}
			}
		})
	}
}

// TestSignatureDeterministic: the same inputs and a signer that gives the
// same bytes give the same installer, signature block included.
func TestSignatureDeterministic(t *testing.T) {
	a, _ := os.ReadFile(build(t, t.TempDir(), mixedFiles(), WithSigner(fakeSigner("v"))))
	b, _ := os.ReadFile(build(t, t.TempDir(), mixedFiles(), WithSigner(fakeSigner("v"))))
	if !bytes.Equal(a, b) {
		t.Fatal("two signed builds differ")
	}
}

// TestSignatureErrors: a signer's error fails Commit and SignFile and
// leaves nothing behind; an empty or oversized signature is refused.
func TestSignatureErrors(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("no key")
	w, err := Create(filepath.Join(dir, "app.run"), WithSigner(func([32]byte, *Index) ([]byte, error) { return nil, boom }))
	if err != nil {
		t.Fatal(err)
	}
	w.WriteStub(strings.NewReader("stub"))
	if err := w.Commit(Meta{Platform: "linux/amd64"}); !errors.Is(err, boom) {
		t.Fatalf("Commit: %v, want the signer's error", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
	out := build(t, dir, mixedFiles())
	before, _ := os.ReadFile(out)
	for _, content := range [][]byte{nil, make([]byte, MaxSignatureSize+1)} {
		if err := SignFile(out, func([32]byte, *Index) ([]byte, error) { return content, nil }); err == nil {
			t.Errorf("a signature of %d bytes was stored", len(content))
		}
	}
	if err := SignFile(out, func([32]byte, *Index) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("SignFile: %v, want the signer's error", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("a failed SignFile changed the installer")
	}
	if err := SignFile(filepath.Join(dir, "missing.run"), fakeSigner("v")); err == nil {
		t.Error("SignFile of a missing file succeeded")
	}
}

// TestSignatureBlockDamaged: every way a block can be damaged is named, the
// installer still opens (inspect says what is wrong), and Verify fails.
func TestSignatureBlockDamaged(t *testing.T) {
	out := build(t, t.TempDir(), mixedFiles(), WithSigner(fakeSigner("vendor")))
	good, _ := os.ReadFile(out)
	r := mustOpen(t, out)
	at := len(good) - TrailerSize - signatureHeaderSize - len(mustSig(t, r))
	r.Close()
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x20; return b }
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"magic":    {flip(at), "no block header"},
		"length":   {flip(at + 8), "its header says"},
		"crc":      {flip(at + 12), "checksum mismatch"},
		"content":  {flip(at + signatureHeaderSize + 3), "checksum mismatch"},
		"no block": {withGap(t, good, nil), "no block lies between"},
		"short":    {withGap(t, good, good[at:at+5]), "less than its 16-byte header"},
		"huge":     {withGap(t, good, make([]byte, MaxSignatureSize+signatureHeaderSize+1)), "more than the"},
		"cut":      {withGap(t, good, good[at:len(good)-TrailerSize-4]), "its header says"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.b), int64(len(tc.b)), nil)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			sig, err := r.Signature()
			if !errors.Is(err, ErrSignatureBlock) || !strings.Contains(err.Error(), tc.want) || sig != nil || !r.Signed() {
				t.Fatalf("Signature() = %q, %v; want ErrSignatureBlock saying %q", sig, err, tc.want)
			}
			if err := r.Verify(context.Background(), nil); !errors.Is(err, ErrSignatureBlock) {
				t.Errorf("Verify: %v, want ErrSignatureBlock", err)
			}
		})
	}
}

func mustSig(t *testing.T, r *Reader) []byte {
	t.Helper()
	sig, err := r.Signature()
	if err != nil || sig == nil {
		t.Fatalf("Signature() = %q, %v", sig, err)
	}
	return sig
}

// withGap rewrites the installer b with gap between its index and a
// trailer flagged signed.
func withGap(t testing.TB, b, gap []byte) []byte {
	t.Helper()
	tr, err := parseTrailer(b[len(b)-TrailerSize:], int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	tr.signed = true
	end := tr.indexOffset + tr.indexLen
	return append(append(bytes.Clone(b[:end]), gap...), tr.marshal()...)
}

// TestUnsignedReadersIgnoreTheBlock: the trailer of a signed installer
// differs from an unsigned one's in flag bit 1 alone, so a reader that
// knows only bit 0 (every reader before signatures) reads it as before.
func TestUnsignedReadersIgnoreTheBlock(t *testing.T) {
	signed, _ := os.ReadFile(build(t, t.TempDir(), mixedFiles(), WithSigner(fakeSigner("v"))))
	plain, _ := os.ReadFile(build(t, t.TempDir(), mixedFiles()))
	st, pt := signed[len(signed)-TrailerSize:], plain[len(plain)-TrailerSize:]
	if binary.LittleEndian.Uint32(st[12:]) != flagSigned || binary.LittleEndian.Uint32(pt[12:]) != 0 {
		t.Fatalf("flags: signed %#x, unsigned %#x", st[12:16], pt[12:16])
	}
	if !bytes.Equal(st[40:72], pt[40:72]) || !bytes.Equal(st[:12], pt[:12]) || !bytes.Equal(st[16:40], pt[16:40]) {
		t.Error("the trailers differ beyond the flags and checksum")
	}
	if sha256.Sum256(signed[:len(plain)-TrailerSize]) != sha256.Sum256(plain[:len(plain)-TrailerSize]) {
		t.Error("signing changed bytes before the block")
	}
}
