package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/spf13/cobra"
)

func newJoinCmd() *cobra.Command {
	var f hostFlags
	var masters, nodes, requireSig string
	cmd := &cobra.Command{
		Use:   "join -f Clusterfile [--masters IPS] [--nodes IPS]",
		Short: "Add masters and nodes to the installed cluster, and to the Clusterfile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if masters == "" && nodes == "" {
				return fmt.Errorf("nothing to join: give --masters and/or --nodes (IPs, lists a,b or ranges a-b)")
			}
			old, data, err := loadCluster(f.clusterfile, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			updated, err := clusterfile.UpdateHosts(data, splitIPs(masters), splitIPs(nodes), nil)
			if err != nil {
				return err
			}
			c, _, err := clusterfile.Parse(filepath.Base(f.clusterfile), updated)
			if err != nil {
				return err
			}
			c.SSH = old.SSH // keeps a password given through the environment
			ips := joinTargets(old, c)
			if len(ips) == 0 {
				return fmt.Errorf("every host given is already in %s", f.clusterfile)
			}
			p, err := openSelf()
			if err != nil {
				return err
			}
			defer p.Close()
			// Before the password is asked for: a refused installer needs none.
			if _, err := requireSignature(p, requireSig, c, f.clusterfile); err != nil {
				return err
			}
			if err := askLogin(c, f.clusterfile, terminalPrompter(cmd.ErrOrStderr())); err != nil {
				return err
			}
			opts := deployOptions(cmd, f)
			withImages(&opts, p)
			stop, err := startRegistry(p, &opts)
			if err != nil {
				return err
			}
			defer stop()
			if err := deployer.Join(cmd.Context(), c, ips, opts); err != nil {
				return sudoAdvice(err)
			}
			if f.dryRun {
				return nil
			}
			return writeClusterfile(f.clusterfile, updated)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&masters, "masters", "", "masters to add: IPs, a,b or a-b")
	cmd.Flags().StringVar(&nodes, "nodes", "", "nodes to add: IPs, a,b or a-b")
	requireSignatureFlag(cmd, &requireSig)
	return cmd
}

// joinTargets are the hosts of c that old does not have.
func joinTargets(old, c *clusterfile.Cluster) []string {
	var have []string
	for _, h := range old.Hosts() {
		have = append(have, h.IP)
	}
	var out []string
	for _, h := range c.Hosts() {
		if !slices.Contains(have, h.IP) {
			out = append(out, h.IP)
		}
	}
	return out
}

// writeClusterfile replaces the Clusterfile atomically, keeping its mode.
func writeClusterfile(path string, data []byte) error {
	mode := os.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp := path + ".sealpack-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
