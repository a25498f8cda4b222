package main

import (
	"github.com/sealpack/sealpack/deployer"
	"github.com/spf13/cobra"
)

func newResetCmd() *cobra.Command {
	var f hostFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset -f Clusterfile [--yes]",
		Short: "Uninstall the cluster from every host (clean-host script, kubeadm reset, what sealpack wrote)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := loadCluster(f.clusterfile, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := confirm(cmd, yes, "This wipes Kubernetes and everything sealpack installed from every host of "+f.clusterfile); err != nil {
				return err
			}
			p, err := openSelf()
			if err != nil {
				return err
			}
			defer p.Close()
			opts := deployOptions(cmd, f)
			opts.Payload = p
			return deployer.Reset(cmd.Context(), c, opts)
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}
