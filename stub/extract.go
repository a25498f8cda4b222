package main

import (
	"fmt"

	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newExtractCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "extract DIR",
		Short: "Write the carried rootfs (bin/, etc/, manifests/, images/ ...) into DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openSelf()
			if err != nil {
				return err
			}
			defer r.Close()
			rep := r.Report()
			bar := progress.New(cmd.ErrOrStderr(), rep.ContentBytes, "extract")
			err = r.Extract(cmd.Context(), args[0], bar.Add)
			bar.Finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "extracted %d entries (%s) into %s\n", len(rep.Files), payload.HumanBytes(rep.ContentBytes), args[0])
			return nil
		},
	}
}
