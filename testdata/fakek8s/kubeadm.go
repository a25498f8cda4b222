package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// kubeadm exit codes (kubeadm/app/util/error.go): validation errors of the
// configuration exit 3, everything else 1 (preflight failures too, since
// the phase runner wraps them).
const (
	exitDefault    = 1
	exitValidation = 3
)

// validationError is a field error list from configuration validation.
type validationError struct{ error }

func (p *program) kubeadm() error {
	root := &cobra.Command{
		Use:           "kubeadm",
		Short:         "kubeadm: easily bootstrap a secure Kubernetes cluster",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetArgs(p.args)
	root.SetIn(p.stdin)
	root.SetOut(p.stdout)
	root.SetErr(p.stderr)
	root.PersistentFlags().Int32P("v", "v", 0, "number for the log level verbosity")
	root.PersistentFlags().String("rootfs", "", "The path to the 'real' host root filesystem.")
	root.AddCommand(p.newInitCmd(), p.newJoinCmd(), p.newResetCmd(), p.newTokenCmd(),
		p.newCertsCmd(), p.newConfigCmd(), p.newKubeadmVersionCmd())
	err := root.Execute()
	if err == nil {
		return nil
	}
	var ee exitError
	if errors.As(err, &ee) {
		return err
	}
	fmt.Fprintf(p.stderr, "%s\nTo see the stack trace of this error execute with --v=5 or higher\n", err)
	var ve validationError
	if errors.As(err, &ve) {
		return exitError{exitValidation}
	}
	return exitError{exitDefault}
}

// mixedArgs is kubeadm's ValidateMixedArguments: with --config only a few
// flags may be given too.
func mixedArgs(fs *pflag.FlagSet) error {
	if !fs.Changed("config") {
		return nil
	}
	allowed := map[string]bool{"config": true, "ignore-preflight-errors": true, "dry-run": true, "kubeconfig": true,
		"node-name": true, "kubeconfig-dir": true, "upload-certs": true, "print-join-command": true, "rootfs": true, "v": true, "log-file": true}
	var bad []string
	fs.Visit(func(f *pflag.Flag) {
		if !allowed[f.Name] && !strings.HasPrefix(f.Name, "skip-") {
			bad = append(bad, f.Name)
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("can not mix '--config' with arguments %v", bad)
	}
	return nil
}

func (p *program) outf(format string, args ...any) {
	fmt.Fprintf(p.stdout, format, args...)
}

// klogWarn prints a warning in klog's format, as kubeadm does.
func (p *program) klogWarn(file, msg string) {
	now := time.Now()
	fmt.Fprintf(p.stderr, "W%s %7d %s] %s\n", now.Format("0102 15:04:05.000000"), os.Getpid(), file, msg)
}

func (p *program) newCertsCmd() *cobra.Command {
	certs := &cobra.Command{Use: "certs", Short: "Commands related to handling kubernetes certificates"}
	certs.AddCommand(&cobra.Command{
		Use:   "certificate-key",
		Short: "Generate certificate keys",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := newCertificateKey()
			if err != nil {
				return err
			}
			p.outf("%s\n", k)
			return nil
		},
	})
	return certs
}

func (p *program) newKubeadmVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubeadm",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo()
			switch output {
			case "":
				p.outf("kubeadm version: &version.Info{Major:%q, Minor:%q, GitVersion:%q, GitCommit:%q, GitTreeState:%q, BuildDate:%q, GoVersion:%q, Compiler:%q, Platform:%q}\n",
					v["major"], v["minor"], v["gitVersion"], v["gitCommit"], v["gitTreeState"], v["buildDate"], v["goVersion"], v["compiler"], v["platform"])
			case "short":
				p.outf("%s\n", version)
			case "json", "yaml":
				return printObject(p.stdout, output, map[string]any{"clientVersion": v})
			default:
				return fmt.Errorf("invalid output format: %s", output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format; available options are 'yaml', 'json' and 'short'")
	return cmd
}

// preflight collects check results, kubeadm style.
type preflight struct {
	ignore   map[string]bool
	errs     []string
	warnings []string
}

func newPreflight(ignore []string) *preflight {
	pf := &preflight{ignore: map[string]bool{}}
	for _, i := range ignore {
		for _, x := range strings.Split(i, ",") {
			if x = strings.TrimSpace(strings.ToLower(x)); x != "" {
				pf.ignore[x] = true
			}
		}
	}
	return pf
}

// fail records a failed check; an ignored one becomes a warning.
func (pf *preflight) fail(name, msg string) {
	if pf.ignore["all"] || pf.ignore[strings.ToLower(name)] {
		pf.warn(name, msg)
		return
	}
	pf.errs = append(pf.errs, fmt.Sprintf("\t[ERROR %s]: %s", name, msg))
}

func (pf *preflight) warn(name, msg string) {
	pf.warnings = append(pf.warnings, fmt.Sprintf("\t[WARNING %s]: %s", name, msg))
}

// finish prints the warnings and returns the fatal errors as kubeadm
// words them.
func (pf *preflight) finish(p *program) error {
	for _, w := range pf.warnings {
		fmt.Fprintln(p.stderr, w)
	}
	if len(pf.errs) == 0 {
		return nil
	}
	return fmt.Errorf("error execution phase preflight: [preflight] Some fatal errors occurred:\n%s\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`",
		strings.Join(pf.errs, "\n"))
}

// fileAvailable fails when a file kubeadm would write already exists.
func (pf *preflight) fileAvailable(e *env, path string) {
	if _, err := os.Stat(e.path(path)); err == nil {
		pf.fail("FileAvailable-"+strings.ReplaceAll(path, "/", "-"), path+" already exists")
	}
}

// dirAvailable fails when a directory kubeadm would fill is not empty.
func (pf *preflight) dirAvailable(e *env, path string) {
	entries, err := os.ReadDir(e.path(path))
	if err == nil && len(entries) > 0 {
		pf.fail("DirAvailable-"+strings.ReplaceAll(path, "/", "-"), path+" is not empty")
	}
}

// portOpen fails when a port this host would listen on is taken.
func (pf *preflight) portOpen(e *env, port int) {
	host, err := e.listenHost()
	if err != nil {
		pf.fail(fmt.Sprintf("Port-%d", port), err.Error())
		return
	}
	if !portFree(host, port) {
		pf.fail(fmt.Sprintf("Port-%d", port), fmt.Sprintf("Port %d is in use", port))
	}
}

// kubeletPort checks the kubelet's port (10250, or the knob's).
func (pf *preflight) kubeletPort(e *env) {
	port, err := kubeletPort(e)
	if err != nil {
		pf.fail("Port-10250", err.Error())
		return
	}
	if port != 0 {
		pf.portOpen(e, port)
	}
}

// fileContent checks a kernel setting (read under the state root, so tests
// can provide it).
func (pf *preflight) fileContent(e *env, path, want string) {
	b, err := os.ReadFile(e.path(path))
	name := "FileContent-" + strings.ReplaceAll(path, "/", "-")
	switch {
	case err != nil:
		pf.fail(name, path+" does not exist")
	case strings.TrimSpace(string(b)) != want:
		pf.fail(name, fmt.Sprintf("%s contents are not set to %s", path, want))
	}
}

// cri checks that the container runtime's socket answers.
func (pf *preflight) cri(e *env, socket string) {
	path := strings.TrimPrefix(socket, "unix://")
	if err := dialUnix(e.path(path)); err != nil {
		pf.fail("CRI", fmt.Sprintf("container runtime is not running: output: time=%q level=fatal msg=\"validate service connection: validate CRI v1 runtime API for endpoint \\\"%s\\\": rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while dialing: %v\\\"\"\n, error: exit status 1",
			time.Now().Format(time.RFC3339), socket, err))
	}
}

// resources checks CPUs and memory for a control-plane node.
func (pf *preflight) resources(e *env) {
	if n := numCPU(); n < 2 {
		pf.fail("NumCPU", fmt.Sprintf("the number of available CPUs %d is less than the required 2", n))
	}
	if mb, ok := memTotalMB(e); ok && mb < 1700 {
		pf.fail("Mem", fmt.Sprintf("the system RAM (%d MB) is less than the minimum 1700 MB", mb))
	}
}
