package main

import (
	"fmt"
	"strings"

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
			var ips []string
			for _, h := range c.Hosts() {
				ips = append(ips, h.IP)
			}
			what := fmt.Sprintf("This wipes Kubernetes and everything sealpack installed from the %d hosts of %s: %s", len(ips), f.clusterfile, strings.Join(ips, ", "))
			if err := confirm(cmd, yes, what); err != nil {
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
			opts.Payload = p
			return sudoAdvice(deployer.Reset(cmd.Context(), c, opts))
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}
