// Command testhosts runs a command while N test hosts are up (real sshd in
// network namespaces on this machine, root only), then tears them down:
//
//	testhosts -n 3 -- ./install.sh
//	testhosts --systemd -n 3 -- ./install.sh    # hosts that boot systemd
//
// The command gets SEALPACK_TEST_HOSTS (their IPs, space separated),
// SEALPACK_TEST_JUMP_IP and SEALPACK_TEST_PASSWORD (root's password on them).
// `make demo` installs the demo cluster onto such hosts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
)

func main() {
	n := flag.Int("n", 3, "number of hosts")
	systemd := flag.Bool("systemd", false, "boot systemd as PID 1 on each host (systemd-nspawn over a cached Debian rootfs)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: testhosts -n N -- command [args...]")
		os.Exit(2)
	}
	code, err := run(*n, *systemd, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "testhosts:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// password is root's on the hosts; not a word that appears in paths, since
// logs mask it wherever it appears.
const password = "demo-Root.pw"

func run(n int, systemd bool, args []string) (int, error) {
	if err := testhost.Available(); err != nil {
		return 1, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	upCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if err := testhost.EnsurePackages(upCtx); err != nil {
		return 1, err
	}
	hosts, their := fmt.Sprintf("the %d test hosts", n), "their"
	if n == 1 {
		hosts, their = "the test host", "its"
	}
	fmt.Fprintf(os.Stderr, "testhosts: starting %s (sshd in network namespaces of this machine)\n", hosts)
	w, err := testhost.Up(upCtx, n, testhost.Options{RootPassword: password, Systemd: systemd})
	if err != nil {
		return 1, err
	}
	// Said, since it takes the hosts' addresses and files with it.
	defer func() {
		fmt.Fprintf(os.Stderr, "testhosts: removing %s (%s namespaces and files): what ran there is gone\n", hosts, their)
		if err := w.Down(); err != nil {
			fmt.Fprintf(os.Stderr, "testhosts: %v\n", err)
			return
		}
		fmt.Fprintf(os.Stderr, "testhosts: removed\n")
	}()
	var ips []string
	for _, h := range w.Hosts {
		ips = append(ips, h.IP)
	}
	fmt.Fprintf(os.Stderr, "testhosts: %d hosts up on %s: %s\n", n, w.Subnet, strings.Join(ips, " "))
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		"SEALPACK_TEST_HOSTS="+strings.Join(ips, " "),
		"SEALPACK_TEST_JUMP_IP="+w.JumpIP,
		"SEALPACK_TEST_PASSWORD="+password)
	err = cmd.Run()
	if c, eerr := w.Egress(context.Background()); eerr != nil {
		fmt.Fprintf(os.Stderr, "testhosts: %v\n", eerr)
	} else {
		fmt.Fprintf(os.Stderr, "testhosts: attempts to reach beyond the hosts' bridge: %s\n", c)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}
