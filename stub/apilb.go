package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sealpack/sealpack/internal/apilb"
	"github.com/spf13/cobra"
)

func newAPILBCmd() *cobra.Command {
	var listen string
	var backends []string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "apiserver-lb --listen 127.0.0.1:6443 --backend MASTER:6443...",
		Short: "Balance a node's connections over the masters' apiservers, until interrupted",
		Long: `What every node of a cluster with several masters runs (an install starts it as
the sealpack-apiserver-lb unit): the node reaches the cluster's API at
sealpack.apiserver (127.0.0.1 in its /etc/hosts), and this forwards each
connection, TLS untouched, to a master whose apiserver answers /readyz.
A master that stops answering is taken out within a few seconds and its
connections are closed, so that kubelet and kube-proxy reconnect to another.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := log.New(cmd.ErrOrStderr(), "", log.LstdFlags)
			b, err := apilb.New(backends, apilb.Options{Interval: interval, Logf: logger.Printf})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			logger.Printf("apiserver-lb: %s over %v", ln.Addr(), backends)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return b.Serve(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:6443", "address to listen on")
	cmd.Flags().StringArrayVar(&backends, "backend", nil, "an apiserver, host:port (repeat for each master)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "between health probes of each apiserver")
	return cmd
}
