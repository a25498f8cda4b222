package signature

import (
	"fmt"
	"io"

	"github.com/sealpack/sealpack/payload"
)

// PayloadSigner signs an installer's index with k, naming the signer name:
// for payload.WithSigner (a build) and payload.SignFile (sealpack sign).
// The predicate's title, version and platform are the index's.
func (k *PrivateKey) PayloadSigner(name string) payload.Signer {
	return func(indexSHA [32]byte, idx *payload.Index) ([]byte, error) {
		return Sign(k, indexSHA, Predicate{
			Title:    idx.Labels[payload.LabelTitle],
			Version:  idx.Labels[payload.LabelVersion],
			Platform: idx.Platform,
			Signer:   name,
		})
	}
}

// Check checks the installer's signature with key: ErrNotSigned, the
// block's damage (payload.ErrSignatureBlock), ErrEnvelope, a
// *WrongKeyError, ErrBadSignature or an *IndexError say what failed. It
// reads no more than the block: the bytes the index names are checked as
// they are read (Verify, or every read of a file).
func Check(r *payload.Reader, key *PublicKey) (*Signed, error) {
	block, err := r.Signature()
	switch {
	case err != nil:
		return nil, err
	case block == nil:
		return nil, ErrNotSigned
	}
	return Verify(block, r.Digest(), key)
}

// Describe is the report's signature line, unchecked: who the block says
// signed the installer, or why it cannot be read.
func Describe(r *payload.Reader) payload.ReportSignature {
	rs := payload.ReportSignature{Signed: r.Signed()}
	block, err := r.Signature()
	if err == nil && block != nil {
		var s *Signed
		if s, err = Read(block); err == nil {
			rs.Signer, rs.KeyID = s.Signer(), s.KeyID
		}
	}
	if err != nil {
		rs.Error = err.Error()
	}
	return rs
}

// WriteEnvelope writes the installer's envelope as it is stored, and a
// newline (inspect --signature): what a check with standard tools reads.
func WriteEnvelope(w io.Writer, r *payload.Reader) error {
	block, err := r.Signature()
	if err != nil {
		return err
	}
	if block == nil {
		return ErrNotSigned
	}
	_, err = fmt.Fprintf(w, "%s\n", block)
	return err
}
