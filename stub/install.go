package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/internal/progress"
	"github.com/spf13/cobra"
)

type installFlags struct {
	hostFlags
	unattended     bool
	allowDowngrade bool
}

func runInstall(cmd *cobra.Command, f installFlags) error {
	if !f.unattended {
		if !progress.IsTerminal(os.Stdin) || !progress.IsTerminal(os.Stdout) {
			return errors.New("no terminal to run the guided installer on: run with --unattended -f Clusterfile (see --help)")
		}
		return runWizard(cmd, f)
	}
	if f.clusterfile == "" {
		return errors.New("--unattended needs a Clusterfile: --unattended -f Clusterfile")
	}
	c, _, err := loadCluster(f.clusterfile, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	p, err := openSelf()
	if err != nil {
		return err
	}
	defer p.Close()
	opts := deployOptions(cmd, f.hostFlags)
	opts.AllowDowngrade = f.allowDowngrade
	withImages(&opts, p)
	stop, err := startRegistry(p, &opts)
	if err != nil {
		return err
	}
	defer stop()
	if err := deployer.Apply(cmd.Context(), c, opts); err != nil {
		return installFailed(cmd, f, err)
	}
	if !f.dryRun && !f.json {
		fmt.Fprintf(cmd.OutOrStdout(), "\nThe cluster is up: every host is a Ready node.\n  kubeconfig: %s\n  logs:       %s\n",
			filepath.Join(opts.StateDir, deployer.AdminConfName), filepath.Join(opts.StateDir, "logs"))
		if len(p.Index().Images) > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "  images:     %s (every master; they stay after this installer exits)\n", strings.Join(c.ImageRegistries(), ", "))
		}
	}
	return nil
}

// installFailed says what failed and how to resume.
func installFailed(cmd *cobra.Command, f installFlags, err error) error {
	if f.json {
		return exitError{code: 1}
	}
	exe := os.Args[0]
	return fmt.Errorf("%w\n\nNothing done so far is lost. Fix the cause, then run the same command again to resume:\n  %s --unattended -f %s\nLogs of every host: %s",
		err, exe, f.clusterfile, filepath.Join(stateDir(f.clusterfile), "logs"))
}
