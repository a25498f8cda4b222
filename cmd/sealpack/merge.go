package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newMergeCmd() *cobra.Command {
	var (
		opts      packer.MergeOptions
		splitSize string
		quiet     bool
		sign      signFlags
	)
	cmd := &cobra.Command{
		Use:   "merge A.run B.run... -o OUT.run [--sign-key KEY]",
		Short: "Put several installers of one platform into one",
		Long: `Merge writes one installer that carries the union of several: every file of
their rootfs (a path with different content in two of them is an error that
names both), every image (each blob stored once), their CMD lines in the order
the installers are given (a line an earlier one runs already runs once), and
their labels, the later ones winning. Blobs are copied as they are stored:
nothing is decompressed or compressed again.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.SplitSize, err = parseSize(splitSize); err != nil {
				return fmt.Errorf("--split-size: %w", err)
			}
			out := absPath(opts.Output)
			for _, a := range args {
				if absPath(a) == out {
					return fmt.Errorf("-o %s is one of the installers to merge: write to another file", opts.Output)
				}
			}
			// The key first: a wrong passphrase fails before any copy.
			signed := func() {}
			if sign.key != "" {
				if opts.Sign, signed, err = sign.buildSigner(cmd); err != nil {
					return err
				}
			}
			opts.Inputs, opts.Stub, opts.Log = args, openStub, cmd.ErrOrStderr()
			if quiet {
				opts.Log = io.Discard
			}
			var endBar func()
			opts.Progress, endBar = barProgress(cmd, quiet, "copying")
			res, err := packer.Merge(cmd.Context(), opts)
			endBar()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s installer, %d files, %d images, %d CMD lines, payload %s\n",
				res.Output, res.Platform, res.Files, len(res.Images), len(res.Cmds), payload.HumanBytes(res.PayloadBytes))
			printParts(cmd.OutOrStdout(), res)
			signed()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "installer to write (required)")
	f.StringVar(&splitSize, "split-size", "", "write the payload in parts of at most this size, as build does")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	f.StringVar(&sign.key, "sign-key", "", "sign the merged installer with this private key, as build --sign-key does (the inputs' signatures do not carry over)")
	sign.registerSigner(cmd)
	cmd.MarkFlagRequired("output")
	return cmd
}

// absPath is p made absolute, or p itself when that fails.
func absPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}
