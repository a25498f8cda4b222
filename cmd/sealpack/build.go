package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/internal/signature"
	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

func newBuildCmd() *cobra.Command {
	var (
		opts      packer.BuildOptions
		buildArgs []string
		splitSize string
		platform  string
		images    imageFlags
		quiet     bool
		sign      signFlags
	)
	cmd := &cobra.Command{
		Use:   "build [-f Kubefile] [-o OUT] [--platform linux/amd64|linux/arm64] [--build-arg K=V]... [--split-size 4000M] [CONTEXT]",
		Short: "Build an installer from a Kubefile",
		Long: `Build runs the Kubefile's instructions over the build context (default: the
current directory) and writes one self-installing executable.

  FROM scratch | FROM ./base.run | FROM ./extracted-image-dir
  ARG, ENV, LABEL, COPY [--chmod=0755] SRC... DEST, RUN (at build time, cwd = rootfs),
  IMAGE ref..., CMD (at install time, every CMD line in order)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ContextDir = "."
			if len(args) == 1 {
				opts.ContextDir = args[0]
			}
			var err error
			if opts.BuildArgs, err = parseBuildArgs(buildArgs); err != nil {
				return err
			}
			if opts.SplitSize, err = parseSize(splitSize); err != nil {
				return fmt.Errorf("--split-size: %w", err)
			}
			platforms, err := splitPlatforms(platform)
			if err != nil {
				return fmt.Errorf("--platform: %w", err)
			}
			opts.Platform = platforms[0]
			if opts.Output == "" {
				opts.Output = "app-installer.run"
			}
			// The key before the build: a wrong passphrase fails at once.
			signed := func() {}
			if sign.key != "" && !images.dryRun {
				if opts.Sign, signed, err = sign.buildSigner(cmd); err != nil {
					return err
				}
			}
			step, finish, err := images.step(cmd, platforms, opts.Output, quiet)
			if err != nil {
				return err
			}
			opts.Images = step
			if opts.Bases, err = images.bases(cmd, quiet); err != nil {
				return err
			}
			opts.DryRun = images.dryRun
			opts.Stub = openStub
			opts.Log = cmd.ErrOrStderr()
			if quiet {
				opts.Log = io.Discard
			}
			if err := runBuild(cmd, opts, quiet, finish); err != nil {
				return err
			}
			signed()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Kubefile, "file", "f", "", "the Kubefile (default CONTEXT/Kubefile)")
	f.StringVarP(&opts.Output, "output", "o", "app-installer.run", "installer to write")
	f.StringVar(&platform, "platform", defaultPlatform(), "target platform: "+strings.Join(packer.Platforms(), " or ")+"; several joined by , carry images for mixed clusters (the first is the installer's)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	f.BoolVar(&opts.NoSBOM, "no-sbom", false, "leave the bill of materials out (to measure its cost)")
	f.MarkHidden("no-sbom")
	images.register(cmd)
	f.StringArrayVar(&buildArgs, "build-arg", nil, "set an ARG: K=V (K alone takes $K from the environment); repeatable")
	f.StringVar(&splitSize, "split-size", "", "write the payload in parts of at most this size (e.g. 4000M for FAT32), K/M/G are powers of 1024")
	f.StringVar(&sign.key, "sign-key", "", "sign the installer with this private key (NAME.key of sealpack keygen; encrypted: its passphrase from "+signature.PassphraseEnv+" or a prompt)")
	sign.registerSigner(cmd)
	return cmd
}

// runBuild builds with a compression bar on a terminal, then says what it
// wrote; finish ends the image step's output.
func runBuild(cmd *cobra.Command, opts packer.BuildOptions, quiet bool, finish func()) error {
	var endBar func()
	opts.Progress, endBar = barProgress(cmd, quiet, "compressing")
	res, err := packer.Build(cmd.Context(), opts)
	endBar()
	finish()
	if errors.Is(err, packer.ErrDryRun) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s installer, %d files, %d images, payload %s\n",
		res.Output, res.Platform, res.Files, len(res.Images), payload.HumanBytes(res.PayloadBytes))
	printParts(cmd.OutOrStdout(), res)
	return nil
}

// barProgress is a packer Progress callback (told the total once, then each
// amount done) that draws a bar named label on a terminal, and the function
// that ends the bar; with quiet or no terminal, no callback.
func barProgress(cmd *cobra.Command, quiet bool, label string) (func(done, total int64), func()) {
	if quiet || !progress.IsTerminal(cmd.ErrOrStderr()) {
		return nil, func() {}
	}
	var bar progress.Bar
	update := func(done, total int64) {
		if total > 0 {
			bar = progress.New(cmd.ErrOrStderr(), total, label)
		} else if bar != nil {
			bar.Add(done)
		}
	}
	return update, func() {
		if bar != nil {
			bar.Finish()
		}
	}
}

// printParts names the split parts written beside an installer.
func printParts(w io.Writer, res *packer.Result) {
	for _, p := range res.Parts {
		fmt.Fprintf(w, "  part %s (keep it beside %s)\n", p, filepath.Base(res.Output))
	}
}

// defaultPlatform is the build machine's, when an installer can target it.
func defaultPlatform() string {
	p := "linux/" + runtime.GOARCH
	if packer.ValidPlatform(p) == nil {
		return p
	}
	return "linux/amd64"
}

// parseBuildArgs reads --build-arg values; like Docker, "K" alone takes the
// value of K from the environment (and is skipped when K is unset).
func parseBuildArgs(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range list {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: expected KEY=VALUE", a)
		}
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		out[k] = v
	}
	return out, nil
}

// parseSize reads "4000M", "2G", "512K", "1048576" (bytes); K, M, G (KB, KiB...)
// are powers of 1024. "" and "0" mean no split.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult = 1 << 10
	case strings.HasSuffix(t, "M"):
		mult = 1 << 20
	case strings.HasSuffix(t, "G"):
		mult = 1 << 30
	case strings.HasSuffix(t, "T"):
		mult = 1 << 40
	}
	if mult > 1 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size such as 4000M, 2G or 1048576", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
