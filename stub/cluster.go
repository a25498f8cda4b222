package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/progress"
	"github.com/spf13/cobra"
)

// hostFlags are the flags of every command that connects to hosts.
type hostFlags struct {
	clusterfile       string
	acceptNewHostKeys bool
	json              bool
	dryRun            bool
	wait              time.Duration
}

func (f *hostFlags) register(cmd *cobra.Command, dryRun bool) {
	cmd.Flags().StringVarP(&f.clusterfile, "file", "f", "", "Clusterfile that names the hosts")
	cmd.Flags().BoolVar(&f.acceptNewHostKeys, "accept-new-host-keys", false, "accept and record host keys seen for the first time (in .sealpack/known_hosts beside the Clusterfile)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print machine-readable events, one JSON object per line")
	cmd.Flags().DurationVar(&f.wait, "wait", 10*time.Minute, "how long to wait, once the nodes are Ready, for every Deployment, DaemonSet, StatefulSet and Job to be rolled out")
	if dryRun {
		cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "connect and run preflight checks, print the plan, change nothing")
	}
}

// loadCluster reads and checks the Clusterfile, printing its warnings.
func loadCluster(path string, stderr io.Writer) (*clusterfile.Cluster, []byte, error) {
	if path == "" {
		return nil, nil, fmt.Errorf("no Clusterfile: give one with -f Clusterfile")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, warnings, err := clusterfile.Parse(filepath.Base(path), data)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return nil, nil, err
	}
	c.SecretsFromEnv(os.Getenv)
	return c, data, nil
}

// stateDir is .sealpack beside the Clusterfile: state, known hosts, logs.
func stateDir(clusterfilePath string) string {
	return filepath.Join(filepath.Dir(clusterfilePath), ".sealpack")
}

func deployOptions(cmd *cobra.Command, f hostFlags) deployer.Options {
	return deployer.Options{
		StateDir:          stateDir(f.clusterfile),
		AcceptNewHostKeys: f.acceptNewHostKeys,
		DryRun:            f.dryRun,
		WaitTimeout:       f.wait,
		Sink:              newRenderer(cmd.OutOrStdout(), f.json),
	}
}

// confirm asks on a terminal before destroying; without one, --yes is needed.
func confirm(cmd *cobra.Command, yes bool, what string) error {
	if yes {
		return nil
	}
	if !progress.IsTerminal(os.Stdin) {
		return fmt.Errorf("%s.\nWithout a terminal to ask on, nothing was done: pass --yes to go on", what)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s. Type yes to go on: ", what)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return fmt.Errorf("not confirmed; nothing was changed")
	}
	return nil
}

func splitIPs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
