package main

import (
	"fmt"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/internal/signature"
	"github.com/spf13/cobra"
)

func newInspectCmd() *cobra.Command {
	var (
		asJSON   bool
		envelope bool
		key      string
	)
	var sbomOnly bool // --sbom: the bill of materials alone
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Show what this installer carries: name, version, platform, images, files, sizes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openSelf()
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
			if rep.Signature, err = checkSignature(r, key); err != nil {
				return checkFailed(err)
			}
			if asJSON {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if len(rep.Images) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "\nAfter the install, every master serves these images (port %d, or spec.registry.port),\n"+
					"so that they stay pullable once this installer has gone; or the site's registry does\n"+
					"(spec.registry.externalRegistry), which the install pushes them to.\n", deployer.ClusterRegistryPort)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().BoolVar(&sbomOnly, "sbom", false, "print the bill of materials (CycloneDX 1.5 JSON) alone")
	cmd.Flags().BoolVar(&envelope, "signature", false, "print the signature envelope (DSSE JSON) alone, to check it with standard tools (see the README)")
	cmd.Flags().StringVar(&key, "key", "", "check the signature with the key in this file (the vendor's NAME.pub)")
	return cmd
}
