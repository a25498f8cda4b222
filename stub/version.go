package main

import (
	"fmt"
	"runtime"

	"github.com/sealpack/sealpack/internal/version"
	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the installer program's version and the product it carries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "sealpack installer %s (%s/%s)\n", version.Version, runtime.GOOS, runtime.GOARCH)
			if r, err := openSelf(); err == nil {
				defer r.Close()
				rep := r.Report()
				fmt.Fprintf(out, "carries %s %s for %s\n", rep.Name, rep.Version, rep.Platform)
			}
			return nil
		},
	}
}
