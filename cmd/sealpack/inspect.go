package main

import (
	"errors"
	"fmt"

	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show what an installer carries (any platform's installer)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := payload.Open(args[0])
			if errors.Is(err, payload.ErrFormat) {
				return fmt.Errorf("%s is not a sealpack installer, or it is truncated: %w", args[0], err)
			}
			if err != nil {
				return err
			}
			defer r.Close()
			rep := r.Report()
			if asJSON {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
