package main

import (
	"errors"
	"fmt"
	"runtime"

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
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			// The kernel refuses to start an installer of another
			// architecture with a bare "exec format error": say it here.
			if here := runtime.GOOS + "/" + runtime.GOARCH; rep.Platform != here {
				fmt.Fprintf(cmd.OutOrStdout(), "\nNote: this installer is for %s; this machine is %s. Run it on a %s jump host.\n", rep.Platform, here, rep.Platform)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
