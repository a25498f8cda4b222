package payload

import (
	"errors"
	"fmt"
	"io"
)

// ErrNoSBOM says that an installer carries no bill of materials: it was
// built before sealpack wrote one, or with the bill left out.
var ErrNoSBOM = errors.New("payload: this installer carries no bill of materials (built before sealpack wrote one, or without it)")

// MaxSBOM bounds the bill read into memory; a bill lists one entry per file
// and image, so even a huge rootfs stays far below it.
const MaxSBOM = 256 << 20

// SBOM returns the bill of materials the builder stored (CycloneDX 1.5 JSON;
// the payload does not read it), verified against its digest.
func (r *Reader) SBOM() ([]byte, error) {
	d := r.index.SBOM
	if d == "" {
		return nil, ErrNoSBOM
	}
	b, ok := r.blobs[d]
	if !ok {
		return nil, fmt.Errorf("bill of materials: %w: %s", ErrNotFound, d)
	}
	if b.Size > MaxSBOM {
		return nil, fmt.Errorf("bill of materials %s: %d bytes, more than %d", d, b.Size, MaxSBOM)
	}
	rc, err := r.Open(d)
	if err != nil {
		return nil, fmt.Errorf("bill of materials: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading the bill of materials %s: %w", d, err)
	}
	return data, nil
}
