package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/packer/artifact"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newPullCmd() *cobra.Command {
	var (
		flags    registryFlags
		out      string
		platform string
	)
	cmd := &cobra.Command{
		Use:   "pull REF -o FILE [--platform linux/arm64]",
		Short: "Get an installer back from an OCI registry, byte for byte as pushed",
		Long: `Pull writes the installer published at REF to FILE (split installers come back
as the same parts beside it). Every layer is checked against its digest as it is
written; on any failure nothing is left at FILE.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, finish, err := flags.options(cmd, "pulling")
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("platform") {
				platform = "" // the only one there is, else this machine's
			}
			a, err := artifact.Describe(cmd.Context(), args[0], platform, o)
			if errors.Is(err, artifact.ErrPlatform) && platform == "" {
				a, err = artifact.Describe(cmd.Context(), args[0], defaultPlatform(), o)
			}
			if err != nil {
				finish()
				return err
			}
			res, err := a.WriteTo(cmd.Context(), out, o)
			finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s installer from %s (%s)\n", res.Output, res.Platform, args[0], payload.HumanBytes(res.Bytes))
			for _, p := range res.Parts {
				fmt.Fprintf(cmd.OutOrStdout(), "  part %s\n", p)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "app-installer.run", "installer to write")
	cmd.Flags().StringVar(&platform, "platform", defaultPlatform(), "the installer to take from a multi-platform reference")
	flags.register(cmd, true)
	return cmd
}

// isRegistryRef reports whether arg names a registry artifact rather than a
// file: it is no file here, and its first part names a registry host
// (registry.example.com/..., host:5000/..., localhost/...).
func isRegistryRef(arg string) bool {
	if _, err := os.Stat(arg); err == nil {
		return false
	}
	return packer.IsRegistryRef(arg)
}

// inspectRef prints what inspect FILE prints, from the artifact's manifest
// and config alone (no layer is read).
func inspectRef(cmd *cobra.Command, ref, platform string, o artifact.Options, asJSON bool) error {
	a, err := artifact.Describe(cmd.Context(), ref, platform, o)
	if errors.Is(err, artifact.ErrPlatform) && platform == "" {
		a, err = artifact.Describe(cmd.Context(), ref, defaultPlatform(), o)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return a.Config.Report.WriteJSON(cmd.OutOrStdout())
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Reference: %s\n", a.Ref)
	if len(a.Platforms) > 1 {
		fmt.Fprintf(w, "Platforms: %s (this is %s; --platform picks)\n", strings.Join(a.Platforms, ", "), a.Config.Platform())
	}
	return a.Config.Report.WriteText(w)
}

// bases fetches FROM registry references with the image pulls' mirrors,
// plain-HTTP hosts and credentials, into --cache-dir (default the user's
// cache directory, sealpack/).
func (f *imageFlags) bases(cmd *cobra.Command, quiet bool) (func(ctx context.Context, ref, platform string) (string, error), error) {
	rf := registryFlags{auth: f.auth, insecure: f.insecure, mirrors: f.mirrors, jobs: f.jobs, quiet: quiet}
	o, _, err := rf.options(cmd, "")
	if err != nil {
		return nil, err
	}
	o.OnProgress, o.Log = nil, cmd.ErrOrStderr() // lines: the build's log is lines
	if quiet {
		o.Log = nil
	}
	dir := f.cacheDir
	if dir == "" {
		if dir, err = os.UserCacheDir(); err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "sealpack")
	}
	return artifact.Fetcher(dir, o), nil
}
