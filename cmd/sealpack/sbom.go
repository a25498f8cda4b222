package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newSBOMCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "sbom FILE [-o OUT.json]",
		Short: "Print the bill of materials an installer carries (CycloneDX 1.5 JSON)",
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
			if out == "" || out == "-" {
				return writeSBOM(cmd.OutOrStdout(), r)
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := writeSBOM(f, r); err != nil {
				f.Close()
				os.Remove(out)
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write it to this file (default: standard output)")
	return cmd
}

// writeSBOM copies the stored bill, byte for byte (it is what the index's
// digest, and so a signature, covers).
func writeSBOM(w io.Writer, r *payload.Reader) error {
	bill, err := r.SBOM()
	if errors.Is(err, payload.ErrNoSBOM) {
		return errors.New("this installer carries no bill of materials: it was built before sealpack wrote one (rebuild it with this sealpack)")
	}
	if err != nil {
		return err
	}
	_, err = w.Write(bill)
	return err
}
