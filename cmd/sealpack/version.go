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
		Short: "Print the sealpack version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "sealpack %s (%s/%s)\n", version.Version, runtime.GOOS, runtime.GOARCH)
		},
	}
}
