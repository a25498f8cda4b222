package main

import (
	"errors"
	"io"

	"github.com/sealpack/sealpack/payload"
)

// writeSBOM copies the stored bill, byte for byte (inspect --sbom): the
// installer never makes one, it prints what the build wrote.
func writeSBOM(w io.Writer, r *payload.Reader) error {
	bill, err := r.SBOM()
	if errors.Is(err, payload.ErrNoSBOM) {
		return errors.New("this installer carries no bill of materials: it was built before sealpack wrote one")
	}
	if err != nil {
		return err
	}
	_, err = w.Write(bill)
	return err
}
