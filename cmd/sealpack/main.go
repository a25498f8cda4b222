// Command sealpack builds single-file installers of Kubernetes clusters and
// their applications for air-gapped sites.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	// A build streams gigabytes through reused buffers and keeps a small
	// live heap: garbage collection (and its idle workers, which take the
	// cores the compressors need) runs only when the heap nears a bound.
	// GOGC or GOMEMLIMIT in the environment take precedence.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
		debug.SetGCPercent(-1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sealpack",
		Short: "Build one executable that installs a whole Kubernetes cluster with its applications, offline",
		Long: `sealpack turns a Kubefile (Dockerfile syntax: FROM, COPY, RUN, IMAGE, CMD ...)
into ONE executable that carries every binary, manifest and container image, and
installs the cluster on air-gapped hosts over SSH.

  sealpack build -f Kubefile -o app-installer.run .
  sealpack inspect app-installer.run`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newBuildCmd(), newInspectCmd(), newSBOMCmd(), newPushCmd(), newPullCmd(), newMergeCmd(), newKeygenCmd(), newSignCmd(), newVersionCmd())
	return cmd
}
