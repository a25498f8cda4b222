package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

// payloadEnv lets a developer point a stub that has no payload appended at an
// installer (go run ./stub inspect). An installer always reads itself.
const payloadEnv = "SEALPACK_PAYLOAD"

func newRootCmd() *cobra.Command {
	var opts installOptions
	cmd := &cobra.Command{
		Use:   "app-installer.run",
		Short: "Install the Kubernetes cluster and applications carried in this file",
		Long: `This single file carries a Kubernetes cluster, its applications and every
container image they need. Run it on a jump host that reaches the target hosts
over SSH.

  ./app-installer.run                                  the guided installer (needs a terminal)
  ./app-installer.run --unattended -f Clusterfile      install without questions`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInstall(cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.unattended, "unattended", false, "install without questions, from the Clusterfile given with -f")
	cmd.Flags().StringVarP(&opts.clusterfile, "file", "f", "", "Clusterfile that names the hosts")
	cmd.Flags().BoolVar(&opts.acceptNewHostKeys, "accept-new-host-keys", false, "accept and record host keys seen for the first time")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print machine-readable events, one JSON object per line")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "connect and run preflight checks, print the plan, change nothing")
	cmd.AddCommand(newInspectCmd(), newVerifyCmd(), newExtractCmd(), newVersionCmd())
	return cmd
}

type installOptions struct {
	unattended        bool
	clusterfile       string
	acceptNewHostKeys bool
	json              bool
	dryRun            bool
}

func runInstall(cmd *cobra.Command, opts installOptions) error {
	if !opts.unattended && !progress.IsTerminal(os.Stdin) {
		return errors.New("no terminal to run the guided installer on: run with --unattended -f Clusterfile (see --help)")
	}
	if opts.unattended && opts.clusterfile == "" {
		return errors.New("--unattended needs a Clusterfile: --unattended -f Clusterfile")
	}
	r, err := openSelf()
	if err != nil {
		return err
	}
	defer r.Close()
	return fmt.Errorf("installing is not available in this build (%s); use inspect, verify or extract", r.Index().Platform)
}

// openSelf opens the payload appended to this program.
func openSelf() (*payload.Reader, error) {
	path := os.Getenv(payloadEnv)
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the installer file: %w", err)
		}
		path = exe
	}
	r, err := payload.Open(path)
	if errors.Is(err, payload.ErrFormat) && os.Getenv(payloadEnv) == "" {
		return nil, fmt.Errorf("%s carries no payload: it is the bare installer program, or the file is truncated (%w)", path, err)
	}
	return r, err
}
