package main

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/sealpack/sealpack/internal/signature"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newInspectCmd() *cobra.Command {
	var (
		asJSON   bool
		envelope bool
		platform string
		reg      registryFlags
	)
	var sbomOnly bool // --sbom: the bill of materials alone
	cmd := &cobra.Command{
		Use:   "inspect FILE|REF",
		Short: "Show what an installer carries (any platform's installer; REF: one in a registry, from its manifest and config)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isRegistryRef(args[0]) {
				reg.quiet = true
				o, _, err := reg.options(cmd, "")
				if err != nil {
					return err
				}
				return inspectRef(cmd, args[0], platform, o, asJSON)
			}
			r, err := payload.Open(args[0])
			if errors.Is(err, payload.ErrFormat) {
				return fmt.Errorf("%s is not a sealpack installer, or it is truncated: %w", args[0], err)
			}
			if err != nil {
				return err
			}
			defer r.Close()
			if sbomOnly {
				return writeSBOM(cmd.OutOrStdout(), r)
			}
			if envelope {
				return signature.WriteEnvelope(cmd.OutOrStdout(), r)
			}
			rep := r.Report()
			rep.Signature = signature.Describe(r)
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
	cmd.Flags().BoolVar(&sbomOnly, "sbom", false, "print the bill of materials (CycloneDX 1.5 JSON) alone")
	cmd.Flags().BoolVar(&envelope, "signature", false, "print the signature envelope (DSSE JSON) alone, to check it with standard tools")
	cmd.Flags().StringVar(&platform, "platform", "", "REF of several platforms: the one to show (default: this machine's)")
	reg.register(cmd, true)
	return cmd
}
