package main

import (
	"fmt"

	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every byte of the installer (and its split parts) against its index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openSelf()
			if err != nil {
				return err
			}
			defer r.Close()
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
}
