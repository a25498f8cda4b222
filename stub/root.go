package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

// payloadEnv lets a developer point a stub that has no payload appended at an
// installer (go run ./stub inspect). An installer always reads itself.
const payloadEnv = "SEALPACK_PAYLOAD"

func newRootCmd() *cobra.Command {
	var opts installFlags
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
	opts.register(cmd, true)
	cmd.Flags().BoolVar(&opts.allowDowngrade, "allow-downgrade", false, "install over a cluster that has a newer version of this installer")
	requireSignatureFlag(cmd, &opts.requireSignature)
	cmd.AddCommand(newInspectCmd(), newVerifyCmd(), newExtractCmd(), newVersionCmd(),
		newJoinCmd(), newDeleteCmd(), newResetCmd(), newRegistryCmd(), newPushCmd(), newStatusCmd(), newAPILBCmd())
	return cmd
}

// openSelf opens the payload appended to this program.
func openSelf() (*payload.Reader, error) {
	path, err := selfPath()
	if err != nil {
		return nil, err
	}
	r, err := payload.Open(path)
	if errors.Is(err, payload.ErrFormat) && os.Getenv(payloadEnv) == "" {
		return nil, fmt.Errorf("%s carries no payload: it is the bare installer program, or the file is truncated (%w)", path, err)
	}
	return r, err
}

// selfPath is the installer file: this program, or the one SEALPACK_PAYLOAD names.
func selfPath() (string, error) {
	if path := os.Getenv(payloadEnv); path != "" {
		return path, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the installer file: %w", err)
	}
	return exe, nil
}
