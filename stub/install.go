package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/ssh"
	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/spf13/cobra"
)

type installFlags struct {
	hostFlags
	unattended       bool
	allowDowngrade   bool
	requireSignature string // a public key file the installer must be signed by
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
	if err := askLogin(c, f.clusterfile, nil); err != nil { // unattended: never asks
		return err
	}
	p, err := openSelf()
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := requireSignature(p, f.requireSignature, c, f.clusterfile); err != nil {
		return err
	}
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
	if keys := unknownHostKeys(err); len(keys) > 0 {
		// Running the same command again would only refuse them again.
		return fmt.Errorf("%w\n\n%s", err, hostKeyAdvice(keys))
	}
	exe := os.Args[0]
	return fmt.Errorf("%w\n\nNothing done so far is lost. Fix the cause, then run the same command again to resume:\n  %s --unattended -f %s\nLogs of every host: %s",
		sudoAdvice(err), exe, shell.QuoteIfNeeded(f.clusterfile), filepath.Join(stateDir(f.clusterfile), "logs"))
}

// unknownHostKeys are the keys refused because no known_hosts file lists
// them (a changed key is another matter).
func unknownHostKeys(err error) []*ssh.HostKeyError {
	var out []*ssh.HostKeyError
	var walk func(error)
	walk = func(err error) {
		if he, ok := err.(*ssh.HostKeyError); ok {
			if len(he.Known) == 0 {
				out = append(out, he)
			}
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// hostKeyAdvice says how to trust new host keys: compare each with the
// host's own file of that key type, then run again with
// --accept-new-host-keys, or record them in the site's known_hosts.
func hostKeyAdvice(keys []*ssh.HostKeyError) string {
	var files []string
	for _, k := range keys {
		if f := k.KeyFile(); !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	args := make([]string, 0, len(os.Args)+1)
	for _, a := range os.Args {
		args = append(args, shell.QuoteIfNeeded(a))
	}
	args = append(args, "--accept-new-host-keys")
	msg := "Nothing was changed on any host. The host key above is new to this machine: if its fingerprint\n" +
		"matches what ssh-keygen -lf %s shows on the host, trust it and go on with:\n  %s\n" +
		"or add the host's key to %s yourself, then run the same command again."
	if len(keys) > 1 {
		msg = "Nothing was changed on any host. The host keys above are new to this machine: if each fingerprint\n" +
			"matches what ssh-keygen -lf %s shows on its host, trust them and go on with:\n  %s\n" +
			"or add the hosts' keys to %s yourself, then run the same command again."
	}
	return fmt.Sprintf(msg, strings.Join(files, " or "), strings.Join(args, " "), keys[0].SiteFile)
}
