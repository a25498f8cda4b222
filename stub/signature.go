package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/signature"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

// The installer's signature checks: verify --key, inspect --key, and the
// --require-signature of install and join, and the Clusterfile's
// spec.requireSignature (install, join, delete, reset), which refuse an
// installer that is not signed by the key before any host is touched.

// requireSignatureFlag registers --require-signature on a command that
// installs.
func requireSignatureFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "require-signature", "", "install only if this installer is signed by the key in this file (the vendor's NAME.pub); else touch no host")
}

// checkSignature checks the installer's signature with the public key in
// keyFile, when one is given, and returns inspect's line for it.
func checkSignature(p *payload.Reader, keyFile string) (payload.ReportSignature, error) {
	if keyFile == "" {
		return signature.Describe(p), nil
	}
	key, err := signature.LoadPublicKey(keyFile)
	if err != nil {
		return payload.ReportSignature{}, err
	}
	s, err := signature.Check(p, key)
	if err != nil {
		return payload.ReportSignature{}, &checkError{file: keyFile, id: key.ID(), err: err}
	}
	return payload.ReportSignature{Signed: true, Signer: s.Signer(), KeyID: s.KeyID, CheckedWith: keyFile}, nil
}

// checkError is a signature that fails the check, as opposed to a key file
// that cannot be read.
type checkError struct {
	file, id string
	err      error
}

func (e *checkError) Error() string {
	return fmt.Sprintf("checked with %s (key %s): %v", e.file, e.id, e.err)
}

func (e *checkError) Unwrap() error { return e.err }

// checkFailed says not to use an installer whose signature failed a check.
func checkFailed(err error) error {
	var ce *checkError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w\nDo not use this installer: it is not what the key's owner signed", err)
	}
	return err
}

// requireSignature checks the signature a command that runs the installer on
// hosts requires: by the key of --require-signature (flag), and by the key
// spec.requireSignature of the Clusterfile at path names (c may be nil: the
// wizard without -f). It returns the line for the wizard's first screen.
func requireSignature(p *payload.Reader, flag string, c *clusterfile.Cluster, path string) (payload.ReportSignature, error) {
	type required struct{ file, by string }
	var keys []required
	if flag != "" {
		keys = append(keys, required{flag, "--require-signature"})
	}
	if c != nil && c.RequireSignature != "" {
		file := c.RequireSignature
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		keys = append(keys, required{file, path + ": spec.requireSignature"})
	}
	if len(keys) == 0 {
		return signature.Describe(p), nil
	}
	var rs payload.ReportSignature
	for _, k := range keys {
		var err error
		if rs, err = checkSignature(p, k.file); err != nil {
			return rs, fmt.Errorf("refusing to go on, as %s requires: %w\nNo host was touched", k.by, err)
		}
	}
	return rs, nil
}
