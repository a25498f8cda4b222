package deployer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer/ssh"
	"github.com/sealpack/sealpack/internal/testhost"
)

// TestAttemptOutlivesLostConnection drops the connection while a once
// command runs and prints: the command goes on to its end on the host (a
// write to the closed session would kill it), and its outcome is recorded
// there, its configuration and output removed.
func TestAttemptOutlivesLostConnection(t *testing.T) {
	w := testhost.New(t, 1, testhost.Options{})
	h := w.Hosts[0]
	ctx := context.Background()
	kh, err := ssh.NewKnownHosts(ssh.KnownHostsOptions{SiteFile: filepath.Join(t.TempDir(), "known_hosts"), Unknown: ssh.AcceptNew})
	if err != nil {
		t.Fatal(err)
	}
	d := ssh.NewDialer(kh)
	defer d.Close()
	c, err := d.Dial(ctx, ssh.Config{Host: h.IP, Password: testhost.DefaultRootPassword})
	if err != nil {
		t.Fatal(err)
	}
	cfg := onceConfigPath("step")
	if _, err := h.ExecInput(ctx, []byte("the-config\n"), "mkdir -p "+stateDir+" && cat > "+cfg); err != nil {
		t.Fatal(err)
	}
	// A stand-in for kubeadm: it prints a line, waits at a gate the test
	// opens once the connection is gone (so that no load can make it finish
	// first), prints the rest, then copies its config.
	command := `sh -c 'echo "step 1"; echo 1 > /tmp/progress; while ! test -e /tmp/gate; do sleep 0.05; done; for i in 2 3 4 5 6 7 8 9 10; do echo "step $i"; echo $i > /tmp/progress; done; cat "$0" > /tmp/config-read' "$cfg"`
	ran := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, attemptScript("step", command, cfg))
		ran <- err
	}()
	waitHost(t, h, "grep -qx 1 /tmp/progress")
	c.Close()
	if err := <-ran; err == nil {
		t.Fatal("the command's run went on after its connection was closed")
	}
	if _, err := h.Exec(ctx, "touch /tmp/gate"); err != nil {
		t.Fatal(err)
	}
	waitHost(t, h, "grep -q 10 /tmp/progress && test -e "+stateDir+"/step.rc && ! test -e "+stateDir+"/step.log")
	out, err := h.Exec(ctx, "cat /tmp/config-read "+stateDir+"/step.rc; ls "+stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Fields(string(out)), []string{"the-config", "0", "step.done", "step.rc"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("on the host after the command: %q, want %q (config read, exit 0, done marker, no config, pid file or output left)", got, want)
	}
}

// waitHost waits up to 10 s until the shell condition cond holds on h.
func waitHost(t *testing.T, h *testhost.Host, cond string) {
	t.Helper()
	if err := h.WaitFor(context.Background(), cond, 10*time.Second); err != nil {
		out, _ := h.Exec(context.Background(), "ls -l "+stateDir+"; cat "+stateDir+"/*.log")
		t.Fatalf("%v:\n%s", err, out)
	}
}

// A failed kubeadm names its cause, not only its exit status.
func TestCauseLines(t *testing.T) {
	tests := []struct{ out, want string }{
		{"[init] Using Kubernetes version: v1.34.3\n[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1\n\t[ERROR CRI]: container runtime is not running\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n",
			"error execution phase preflight: [preflight] Some fatal errors occurred:\n[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1\n[ERROR CRI]: container runtime is not running"},
		{"a\nb\nc\nd\ne\nf\ng\n", "c\nd\ne\nf\ng"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := causeLines(tt.out); got != tt.want {
			t.Errorf("causeLines(%q) =\n%s\nwant\n%s", tt.out, got, tt.want)
		}
	}
}
