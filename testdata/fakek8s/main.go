// Command fakek8s is a fake Kubernetes distribution for sealpack's tests: one
// binary that acts as kubeadm, kubectl, kubelet and kube-apiserver according
// to the name it is started under (argv[0]), or to its first argument when
// started as "fakek8s". It honours the real commands' contract (flags, output,
// exit codes) closely enough that an installer written against it works with
// the real ones, and it records every invocation in
// <root>/var/lib/fakek8s/calls.jsonl.
//
// The state root is $FAKEK8S_ROOT (default /), so tests can run several fake
// hosts side by side without namespaces; see env.go for every knob.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// version is the Kubernetes version this build pretends to be; set it with
// -ldflags "-X main.version=v1.29.8".
var version = "v1.30.4"

// exitError carries an exit status chosen by a command (kubeadm reset
// declined, kubectl wait timed out, ...) and the message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// program bundles what every command needs: the streams, the knobs and the
// arguments after the command name.
type program struct {
	name   string // kubeadm, kubectl, kubelet, kube-apiserver
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    *env
}

func main() {
	// A closed pipe (| head) must not kill a command halfway through its
	// changes; writes just fail.
	signal.Ignore(syscall.SIGPIPE)
	name, args := commandName(os.Args)
	e, envErr := loadEnv()
	p := &program{name: name, args: args, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: e}
	start := time.Now()
	code := 0
	if envErr != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, envErr)
		code = 1
	} else if p.isDaemon() {
		// Daemons record their start: they run until stopped.
		p.record(start, -1)
		code = p.run()
		os.Exit(code)
	} else {
		code = p.run()
	}
	p.record(start, code)
	os.Exit(code)
}

// commandName picks the personality from argv[0], or from argv[1] when the
// binary runs under its own name.
func commandName(argv []string) (string, []string) {
	base := filepath.Base(argv[0])
	switch base {
	case "kubeadm", "kubectl", "kubelet", "kube-apiserver":
		return base, argv[1:]
	}
	if len(argv) > 1 {
		return argv[1], argv[2:]
	}
	return base, nil
}

func (p *program) isDaemon() bool {
	if p.name == "kube-apiserver" {
		return true
	}
	return p.name == "kubelet" && isKubeletDaemon(p.args)
}

// run dispatches to the personality and turns its error into an exit code.
func (p *program) run() int {
	if err := p.injectedFailure(); err != nil {
		fmt.Fprintln(p.stderr, err)
		return 1
	}
	p.held()
	var err error
	switch p.name {
	case "kubeadm":
		err = p.kubeadm()
	case "kubectl":
		err = p.kubectl()
	case "kubelet":
		err = p.kubelet()
	case "kube-apiserver":
		err = p.apiserverMain()
	default:
		fmt.Fprintf(p.stderr, "fakek8s: unknown personality %q: run it as kubeadm, kubectl, kubelet or kube-apiserver\n", p.name)
		return 2
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		return 1
	}
}

// held lets a test catch a command while it runs, without sampling luck:
// FAKEK8S_HOLD is "<command prefix>=<file>" (e.g. "kubeadm join=/tmp/gate");
// a matching command writes <file>.reached, then waits while <file> exists
// (10 minutes at most) before it does its work.
func (p *program) held() {
	prefix, file, ok := strings.Cut(p.env.get(envHold), "=")
	line := strings.Join(append([]string{p.name}, p.args...), " ")
	if !ok || (line != prefix && !strings.HasPrefix(line, prefix+" ")) {
		return
	}
	os.WriteFile(file+".reached", []byte(line+"\n"), 0o644)
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(file); err != nil {
			return
		}
	}
}

// injectedFailure lets a test make a command fail: FAKEK8S_FAIL holds a
// comma-separated list of command prefixes such as "kubeadm join" or
// "kubectl apply".
func (p *program) injectedFailure() error {
	spec := p.env.get("FAKEK8S_FAIL")
	if spec == "" {
		return nil
	}
	line := strings.Join(append([]string{p.name}, p.args...), " ")
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f != "" && (line == f || strings.HasPrefix(line, f+" ")) {
			return fmt.Errorf("fakek8s: failure injected by FAKEK8S_FAIL=%q", spec)
		}
	}
	return nil
}
