package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestIndexSpans feeds indexes whose blobs claim bytes their chunks do not
// hold: each is refused as a FormatError when the installer is opened.
func TestIndexSpans(t *testing.T) {
	good := fixtures(t)["small.payload"]
	r, err := NewReader(bytes.NewReader(good), int64(len(good)), nil)
	if err != nil {
		t.Fatal(err)
	}
	head := good[:r.Index().StubSize+r.Index().DataSize]
	// The fixture's blob that spans two shared chunks.
	var at int
	for i, b := range r.Index().Blobs {
		if b.Skip > 0 && len(b.Chunks) == 2 {
			at = i
		}
	}
	enc, _ := zstd.NewWriter(nil)
	for _, tc := range []struct {
		name   string
		change func(b *Blob)
	}{
		{"negative skip", func(b *Blob) { b.Skip = -1 }},
		{"skip past its first chunk", func(b *Blob) { b.Skip = b.Chunks[0].Size }},
		{"size past its chunks", func(b *Blob) { b.Size = b.Chunks[0].Size + b.Chunks[1].Size - b.Skip + 1 }},
		{"an unused last chunk", func(b *Blob) { b.Size = b.Chunks[0].Size - b.Skip }},
		{"negative size", func(b *Blob) { b.Size = -5 }},
		{"empty with chunks", func(b *Blob) { b.Size, b.Skip = 0, 0 }},
		{"huge skip", func(b *Blob) { b.Skip = 1 << 62 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var idx Index
			js, _ := json.Marshal(r.Index())
			json.Unmarshal(js, &idx)
			tc.change(&idx.Blobs[at])
			js, _ = json.Marshal(&idx)
			b := wrapIndex(enc, js, head)
			_, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FormatError", err)
			}
		})
	}
}

// An index that decodes but is not JSON is a FormatError that keeps what the
// JSON decoder said, for errors.As, besides ErrFormat.
func TestIndexDecoderErrorKept(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	b := wrapIndex(enc, []byte(`{"files": [`), nil)
	_, err := NewReader(bytes.NewReader(b), int64(len(b)), nil)
	var syntax *json.SyntaxError
	if !errors.Is(err, ErrFormat) || !errors.As(err, &syntax) {
		t.Fatalf("err = %v, want ErrFormat with the *json.SyntaxError in its chain", err)
	}
	if want := "payload: corrupt at offset 0: index: unexpected end of JSON input"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
