package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
			if err := writeImageMeta(args[0], r.Index()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "extracted %d entries (%s) into %s\n", len(rep.Files), payload.HumanBytes(rep.ContentBytes), args[0])
			return nil
		},
	}
}

// imageMetaFile beside the extracted rootfs keeps what the files alone do
// not say (platform, labels, ENV, CMDs, images), so that a Kubefile can
// build FROM the directory and inherit them.
const imageMetaFile = ".sealpack.json"

func writeImageMeta(dir string, x *payload.Index) error {
	meta := struct {
		Platform string            `json:"platform"`
		Labels   map[string]string `json:"labels"`
		Env      []string          `json:"env"`
		Cmds     []string          `json:"cmds"`
		Images   []payload.Image   `json:"images"`
	}{x.Platform, x.Labels, x.Env, x.Cmds, x.Images}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, imageMetaFile), append(b, '\n'), 0o644)
}
