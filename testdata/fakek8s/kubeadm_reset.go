package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (p *program) newResetCmd() *cobra.Command {
	var (
		force     bool
		certDir   string
		dryRun    bool
		cfgPath   string
		criSocket string
	)
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Performs a best effort revert of changes made to this host by 'kubeadm init' or 'kubeadm join'",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mixedArgs(cmd.Flags()); err != nil {
				return err
			}
			_ = criSocket
			return p.runReset(force, certDir, dryRun)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&force, "force", "f", false, "Reset the node without prompting for confirmation.")
	fs.StringVar(&certDir, "cert-dir", "/etc/kubernetes/pki", "The path to the directory where the certificates are stored.")
	fs.BoolVar(&dryRun, "dry-run", false, "Don't apply any changes; just output what would be done.")
	fs.StringVar(&cfgPath, "config", "", "Path to a kubeadm configuration file.")
	fs.StringVar(&criSocket, "cri-socket", "", "Path to the CRI socket to connect.")
	fs.Bool("cleanup-tmp-dir", false, "Cleanup the \"/etc/kubernetes/tmp\" directory")
	fs.StringSlice("ignore-preflight-errors", nil, "A list of checks whose errors will be shown as warnings.")
	fs.StringSlice("skip-phases", nil, "List of phases to be skipped")
	fs.String("kubeconfig", "/etc/kubernetes/admin.conf", "The kubeconfig file to use when talking to the cluster.")
	return cmd
}

// runReset is kubeadm reset: stop the kubelet (and with it this node's
// control plane), delete what init or join wrote. Like kubeadm it leaves
// the Node object in the cluster: `kubectl delete node` does that.
func (p *program) runReset(force bool, certDir string, dryRun bool) error {
	e := p.env
	if !force {
		p.outf("W%s reset.go:124] [reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.\n", time.Now().Format("0102 15:04:05.000000"))
		p.outf("[reset] Are you sure you want to proceed? [y/N]: ")
		line, _ := bufio.NewReader(p.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("aborted reset operation")
		}
	}
	p.outf("[preflight] Running pre-flight checks\n")
	if dryRun {
		p.outf("[dryrun] Would stop the kubelet service and delete the cluster files\n")
		return nil
	}
	if _, err := os.Stat(e.path("/etc/kubernetes/admin.conf")); errors.Is(err, os.ErrNotExist) {
		p.klogWarn("removeetcdmember.go:106", "[reset] No kubeadm config, using etcd pod spec to get data directory")
	}
	if err := removeContents(e.path("/var/lib/etcd")); err != nil {
		return err
	}
	p.outf("[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n")
	p.outf("[reset] Stopping the kubelet service\n")
	if _, err := stopDaemon(e, kubeletPidFile, "kubelet"); err != nil {
		return fmt.Errorf("stopping the kubelet: %w", err)
	}
	// The control-plane containers go with the kubelet.
	if _, err := stopDaemon(e, apiserverPidFile, "kube-apiserver"); err != nil {
		return fmt.Errorf("stopping the apiserver: %w", err)
	}
	if err := os.RemoveAll(e.path(filepath.Dir(apiserverStore))); err != nil {
		return err
	}
	p.outf("[reset] Unmounting mounted directories in %q\n", "/var/lib/kubelet")
	dirs := []string{"/etc/kubernetes/manifests", "/var/lib/kubelet", certDir}
	for _, d := range dirs {
		if err := removeContents(e.path(d)); err != nil {
			return err
		}
	}
	p.outf("[reset] Deleting contents of directories: %v\n", dirs)
	files := []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/kubelet.conf",
		"/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf"}
	for _, f := range files {
		if err := os.Remove(e.path(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	p.outf("[reset] Deleting files: %v\n", files)
	p.outf("\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n\n" +
		"The reset process does not reset or clean up iptables rules or IPVS tables.\n" +
		"If you wish to reset iptables, you must do so manually by using the \"iptables\" command.\n\n" +
		"If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)\n" +
		"to reset your system's IPVS tables.\n\n" +
		"The reset process does not clean your kubeconfig files and you must remove them manually.\n" +
		"Please, check the contents of the $HOME/.kube/config file.\n")
	return nil
}

// removeContents empties a directory and keeps it; a missing one is fine.
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, en := range entries {
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
			return err
		}
	}
	return nil
}
