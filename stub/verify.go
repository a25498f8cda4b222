package main

import (
	"fmt"

	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newVerifyCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "verify [--key vendor.pub]",
		Short: "Check the installer's signature (with --key), then every byte of it (and its split parts) against its index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openSelf()
			if err != nil {
				return err
			}
			defer r.Close()
			// The signature first: it is over the index, which every byte
			// is then checked against.
			rs, err := checkSignature(r, key)
			if err != nil {
				return checkFailed(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signature: %s\n", rs)
			bar := progress.New(cmd.ErrOrStderr(), r.VerifyBytes(), "verify")
			err = r.Verify(cmd.Context(), bar.Add)
			bar.Finish()
			if err != nil {
				return fmt.Errorf("installer is damaged, do not use it (copy it again):\n%w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s verified (%d blobs)\n", payload.HumanBytes(r.VerifyBytes()), len(r.Index().Blobs))
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "check first that the installer is signed by the key in this file (the vendor's NAME.pub)")
	return cmd
}
