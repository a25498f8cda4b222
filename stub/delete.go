package main

import (
	"fmt"
	"strings"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/spf13/cobra"
)

func newDeleteCmd() *cobra.Command {
	var f hostFlags
	var nodes string
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete -f Clusterfile --nodes IPS [--yes]",
		Short: "Drain and remove hosts from the cluster, reset them, and drop them from the Clusterfile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ips := splitIPs(nodes)
			if len(ips) == 0 {
				return fmt.Errorf("nothing to delete: give --nodes IPS")
			}
			c, data, err := loadCluster(f.clusterfile, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			updated, err := clusterfile.UpdateHosts(data, nil, nil, ips)
			if err != nil {
				return err
			}
			if err := confirm(cmd, yes, fmt.Sprintf("This drains %s, removes them from the cluster and wipes Kubernetes from them", strings.Join(ips, ", "))); err != nil {
				return err
			}
			if err := askLogin(c, f.clusterfile, terminalPrompter(cmd.ErrOrStderr())); err != nil {
				return err
			}
			p, err := openSelf()
			if err != nil {
				return err
			}
			defer p.Close()
			if _, err := requireSignature(p, "", c, f.clusterfile); err != nil {
				return err
			}
			opts := deployOptions(cmd, f)
			withImages(&opts, p)
			if err := deployer.Delete(cmd.Context(), c, ips, opts); err != nil {
				return sudoAdvice(err)
			}
			return writeClusterfile(f.clusterfile, updated)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&nodes, "nodes", "", "hosts to delete: IPs or a,b")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}
