package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sealpack/sealpack/deployer"
	"github.com/spf13/cobra"
)

func newStatusCmd() *cobra.Command {
	var file string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status -f Clusterfile [--json]",
		Short: "Show what is installed where: the installer of the last install, and the steps recorded on each host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := loadCluster(file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			st, err := deployer.LoadState(stateDir(file), c.Name)
			if err != nil {
				return err
			}
			self := ""
			if p, err := openSelf(); err == nil {
				self = p.Digest()
				p.Close()
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"cluster": c.Name, "installed": st.Installed(), "steps": st.Records(), "this": self})
			}
			return writeStatus(cmd.OutOrStdout(), c.Name, st, self)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "Clusterfile of the cluster")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func writeStatus(w io.Writer, cluster string, st *deployer.State, self string) error {
	inst := st.Installed()
	switch {
	case inst == nil:
		fmt.Fprintf(w, "Cluster %s: no install has completed yet.\n", cluster)
	default:
		note := ""
		switch self {
		case inst.Digest:
			note = " (this installer)"
		case "":
		default:
			note = " (not this installer: running it is an upgrade, a rebuild or a downgrade)"
		}
		fmt.Fprintf(w, "Cluster %s: %s installed%s\n  %s\n", cluster, inst, note, inst.Digest)
	}
	recs := st.Records()
	if len(recs) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nSteps recorded:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range recs {
		host := r.Host
		if host == "" {
			host = "(cluster)"
		}
		by := "an older sealpack"
		if r.By != "" {
			by = r.By[:min(len(r.By), 19)]
			if inst != nil && r.By == inst.Digest {
				by = "the installed version"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\tby %s\n", host, r.Step, r.At.Local().Format(time.DateTime), by)
	}
	return tw.Flush()
}
