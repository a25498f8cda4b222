package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/internal/signature"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newSignCmd() *cobra.Command {
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign FILE --key KEY [--signer NAME]",
		Short: "Sign an installer, or sign it again: adds or replaces its signature, in place",
		Long: `sign checks every byte of FILE (and its split parts), then signs its payload
index with KEY: the index names the sha256 of the installer program and of
every chunk, so the signature covers the whole installer. Only the end of FILE
changes (its signature block and trailer); split parts are not touched.
Sites check the signature with verify --key and --require-signature, giving
the public key (NAME.pub of keygen).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			// The key first: a wrong passphrase says so before a long read.
			k, name, err := f.load(cmd)
			if err != nil {
				return err
			}
			r, err := payload.Open(file)
			if errors.Is(err, payload.ErrFormat) {
				return fmt.Errorf("%s is not a sealpack installer, or it is truncated: %w", file, err)
			}
			if err != nil {
				return err
			}
			bar := progress.New(cmd.ErrOrStderr(), r.VerifyBytes(), "verify")
			err = r.Verify(cmd.Context(), bar.Add)
			bar.Finish()
			r.Close()
			if err != nil {
				return fmt.Errorf("%s is damaged, so it was not signed (build it again):\n%w", file, err)
			}
			if err := payload.SignFile(file, k.PayloadSigner(name)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: signed by %s (%s)\n", file, name, k.Public().ID())
			return nil
		},
	}
	cmd.Flags().StringVar(&f.key, "key", "", "the private key to sign with (NAME.key of keygen; encrypted: "+signature.PassphraseEnv+" or a prompt)")
	f.registerSigner(cmd)
	cmd.MarkFlagRequired("key")
	return cmd
}

// signFlags are the signing flags of build (--sign-key) and sign (--key).
type signFlags struct {
	key    string
	signer string
}

func (f *signFlags) registerSigner(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.signer, "signer", "", "the signer's name that installers show (default: the key file's name, vendor for vendor.key)")
}

// load reads the private key, asking for its passphrase when it is
// encrypted, and names the signer.
func (f *signFlags) load(cmd *cobra.Command) (*signature.PrivateKey, string, error) {
	k, err := signature.LoadPrivateKey(f.key, func() ([]byte, error) {
		return passphrase(cmd, "Passphrase of "+f.key, false)
	})
	if err != nil {
		return nil, "", err
	}
	name := f.signer
	if name == "" {
		base := filepath.Base(f.key)
		name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return k, name, nil
}

// buildSigner is the signer of build --sign-key, and a function that says,
// after the build, who signed and what the signature cost (it is made
// once, over the index: it costs next to nothing).
func (f *signFlags) buildSigner(cmd *cobra.Command) (payload.Signer, func(), error) {
	k, name, err := f.load(cmd)
	if err != nil {
		return nil, nil, err
	}
	sign := k.PayloadSigner(name)
	var took time.Duration
	signed := false
	timed := func(sha [32]byte, idx *payload.Index) ([]byte, error) {
		start := time.Now()
		b, err := sign(sha, idx)
		took, signed = time.Since(start), err == nil
		return b, err
	}
	report := func() {
		if signed {
			fmt.Fprintf(cmd.OutOrStdout(), "  signed by %s (%s) in %s\n", name, k.Public().ID(), took.Round(time.Microsecond))
		}
	}
	return timed, report, nil
}
