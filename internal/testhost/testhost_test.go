package testhost

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testreq"
	gossh "golang.org/x/crypto/ssh"
)

// sshRun logs in to h as user and runs cmd, checking h's host key.
func sshRun(h *Host, user string, auth gossh.AuthMethod, cmd string) (string, error) {
	cfg := &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{auth},
		HostKeyCallback: gossh.FixedHostKey(h.HostKey),
		Timeout:         3 * time.Second,
	}
	c, err := gossh.Dial("tcp", h.Addr(), cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return strings.TrimSpace(string(out)), err
}

// reachCmd prints "reached" when to's sshd answers (no ping on these machines).
func reachCmd(to *Host) string {
	return "timeout 2 bash -c 'exec 3<>/dev/tcp/" + to.IP + "/22' 2>/dev/null && echo reached || echo cut"
}

func rootRun(t *testing.T, h *Host, cmd string) string {
	t.Helper()
	out, err := sshRun(h, "root", gossh.Password(DefaultRootPassword), cmd)
	if err != nil {
		t.Fatalf("%s: ssh %q: %v: %s", h.Name, cmd, err, out)
	}
	return out
}

// rootSession logs in to h once; the returned func runs commands over that
// connection.
func rootSession(t *testing.T, h *Host) func(cmd string) string {
	t.Helper()
	c, err := gossh.Dial("tcp", h.Addr(), &gossh.ClientConfig{
		User:            "root",
		Auth:            []gossh.AuthMethod{gossh.Password(DefaultRootPassword)},
		HostKeyCallback: gossh.FixedHostKey(h.HostKey),
		Timeout:         10 * time.Second,
	})
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return func(cmd string) string {
		t.Helper()
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		defer s.Close()
		out, err := s.CombinedOutput(cmd)
		if err != nil {
			t.Fatalf("%s: ssh %q: %v: %s", h.Name, cmd, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}

func TestHostsAreSeparateMachines(t *testing.T) {
	w := New(t, 3, Options{})
	sessions := make([]func(string) string, len(w.Hosts))
	for i, h := range w.Hosts {
		sessions[i] = rootSession(t, h)
	}
	for i, h := range w.Hosts {
		run := sessions[i]
		if got, want := run("hostname"), fmt.Sprintf("host-%d", i+1); got != want {
			t.Errorf("hostname of %s = %q, want %q", h.IP, got, want)
		}
		// Own PID namespace: sshd is PID 1 and nothing of this machine shows.
		if got := run("cat /proc/1/comm"); got != "sshd" {
			t.Errorf("%s: PID 1 is %q, want sshd", h.Name, got)
		}
		if got := run(fmt.Sprintf("test -e /proc/%d && echo visible || echo hidden", os.Getpid())); got != "hidden" {
			t.Errorf("%s: the test process is %s in the host's /proc", h.Name, got)
		}
		// Empty /root, whatever this machine's /root holds.
		if got := run("ls -A /root"); got != "" {
			t.Errorf("%s: /root holds %q, want it empty", h.Name, got)
		}
		// No default route: nothing leaves the bridge.
		if got := run("ip route"); strings.Contains(got, "default") {
			t.Errorf("%s: has a default route: %s", h.Name, got)
		}
		if got := strings.Fields(run("stat -f -c %T / /var/lib/containerd")); len(got) != 2 || got[0] != "overlayfs" || got[1] == "overlayfs" {
			t.Errorf("%s: filesystems of / and /var/lib/containerd = %q, want overlayfs then a plain one", h.Name, got)
		}
		// The host reaches its neighbours over the bridge.
		next := w.Hosts[(i+1)%len(w.Hosts)]
		if got := run(reachCmd(next)); got != "reached" {
			t.Errorf("%s cannot reach %s: %s", h.Name, next.Name, got)
		}
	}

	// A write on host-1 is invisible on host-2 and on this machine.
	probe := "/usr/local/bin/spk-isolation-probe"
	sessions[0]("echo one > " + probe + " && chmod +x " + probe)
	if got := sessions[0]("cat " + probe); got != "one" {
		t.Fatalf("host-1 reads back %q", got)
	}
	if got := sessions[1]("test -e " + probe + " && echo present || echo absent"); got != "absent" {
		t.Errorf("host-2 sees host-1's file: %s", got)
	}
	if _, err := os.Stat(probe); !os.IsNotExist(err) {
		t.Errorf("this machine sees host-1's file: %v", err)
	}
	// Exec reaches the same filesystem view as sshd's sessions.
	if out, err := w.Hosts[0].Exec(context.Background(), "cat "+probe); err != nil || strings.TrimSpace(string(out)) != "one" {
		t.Errorf("Exec on host-1: %q, %v", out, err)
	}
}

func TestUsersKeysAndSudo(t *testing.T) {
	w := New(t, 1, Options{})
	h := w.Hosts[0]
	ctx := context.Background()
	if err := h.AddUser(ctx, "deploy", "s3cret", true, true); err != nil {
		t.Fatal(err)
	}
	if err := h.AddUser(ctx, "robot", "", true, false); err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	if err := h.AuthorizeKey(ctx, "robot", string(gossh.MarshalAuthorizedKey(signer.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	out, err := sshRun(h, "deploy", gossh.Password("s3cret"), "echo s3cret | sudo -S -p '' id -un")
	if err != nil || out != "root" {
		t.Errorf("deploy with sudo password: %q, %v", out, err)
	}
	out, err = sshRun(h, "deploy", gossh.Password("s3cret"), "sudo -n true")
	if err == nil {
		t.Errorf("deploy's sudo needs no password: %q", out)
	}
	out, err = sshRun(h, "robot", gossh.PublicKeys(signer), "sudo -n id -un")
	if err != nil || out != "root" {
		t.Errorf("robot by key with NOPASSWD sudo: %q, %v", out, err)
	}
	if _, err := sshRun(h, "robot", gossh.Password(""), "true"); err == nil {
		t.Error("robot logged in with an empty password")
	}
	if err := h.SetPassword(ctx, "root", "changed"); err != nil {
		t.Fatal(err)
	}
	if _, err := sshRun(h, "root", gossh.Password("changed"), "true"); err != nil {
		t.Errorf("root with its new password: %v", err)
	}
}

func TestPartitionHeal(t *testing.T) {
	w := New(t, 2, Options{})
	h := w.Hosts[1]
	rootRun(t, h, "true")
	if err := w.Partition(1); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", h.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("a partitioned host answered")
	}
	// Partitioned for its neighbours too.
	if got := rootRun(t, w.Hosts[0], reachCmd(h)); got != "cut" {
		t.Errorf("host-1 -> partitioned host-2: %s", got)
	}
	if err := w.Heal(1); err != nil {
		t.Fatal(err)
	}
	rootRun(t, h, "true")
}

func TestBlockFromJump(t *testing.T) {
	w := New(t, 2, Options{})
	if err := w.BlockFromJump(1); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", w.Hosts[1].Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("this machine reaches a host blocked from it")
	}
	if got := rootRun(t, w.Hosts[0], reachCmd(w.Hosts[1])); got != "reached" {
		t.Errorf("host-1 -> host-2 while blocked from the jump host: %s", got)
	}
	if err := w.UnblockFromJump(1); err != nil {
		t.Fatal(err)
	}
	rootRun(t, w.Hosts[1], "true")
}

func TestRestartChangesHostKeyAndResets(t *testing.T) {
	w := New(t, 2, Options{})
	h := w.Hosts[0]
	old := h.HostKey
	rootRun(t, h, "touch /usr/local/bin/before-restart")
	if err := w.Restart(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if string(old.Marshal()) == string(h.HostKey.Marshal()) {
		t.Fatal("host key did not change")
	}
	// The old key is refused now, the new one accepted.
	cfg := &gossh.ClientConfig{User: "root", Auth: []gossh.AuthMethod{gossh.Password(DefaultRootPassword)},
		HostKeyCallback: gossh.FixedHostKey(old), Timeout: 3 * time.Second}
	if c, err := gossh.Dial("tcp", h.Addr(), cfg); err == nil {
		c.Close()
		t.Fatal("the restarted host still offers its old key")
	}
	if got := rootRun(t, h, "test -e /usr/local/bin/before-restart && echo kept || echo gone"); got != "gone" {
		t.Errorf("file written before restart: %s", got)
	}
	if got := rootRun(t, h, "hostname"); got != "host-1" {
		t.Errorf("hostname after restart: %s", got)
	}
}

// leftovers lists what a world with this octet still has on the machine.
func leftovers(octet int) []string {
	var left []string
	for _, dir := range []string{"/run/netns", "/sys/class/net"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if n, ok := octetOf(e.Name(), ""); ok && n == octet {
				left = append(left, filepath.Join(dir, e.Name()))
			}
			if n, ok := octetOf(e.Name(), "b"); ok && n == octet {
				left = append(left, filepath.Join(dir, e.Name()))
			}
		}
	}
	if fileExists(worldDir(octet)) {
		left = append(left, worldDir(octet))
	}
	out, _ := exec.Command("ip", "-4", "route", "show", "type", "unreachable").Output()
	if strings.Contains(string(out), fmt.Sprintf("%s%d.", netPrefix, octet)) {
		left = append(left, "unreachable route")
	}
	return left
}

// processesWith lists live processes whose command line contains marker.
func processesWith(marker string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || isZombie(pid) {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(b), marker) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

func TestDownLeavesNothing(t *testing.T) {
	ctx := context.Background()
	w := New(t, 2, Options{})
	if err := w.BlockFromJump(0); err != nil {
		t.Fatal(err)
	}
	// A detached process inside a host must die with it.
	if _, err := w.Hosts[1].Exec(ctx, "setsid sleep 4711 >/dev/null 2>&1 < /dev/null &"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(processesWith("sleep\x004711")) == 1 }, "the sleep to start")
	octet := w.octet
	if err := w.Down(); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(octet); len(left) > 0 {
		t.Errorf("left after Down: %v", left)
	}
	if p := processesWith("sleep\x004711"); len(p) > 0 {
		t.Errorf("processes left after Down: %v", p)
	}
	if err := w.Down(); err != nil {
		t.Errorf("second Down: %v", err)
	}
	if err := w.Restart(ctx, 0); err == nil || !strings.Contains(err.Error(), "down") {
		t.Errorf("Restart after Down: %v", err)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashHelper is the child of TestCleanupAfterCrash: it brings up a
// world, prints its id and waits to be killed.
func TestCrashHelper(t *testing.T) {
	if os.Getenv("SPK_TESTHOST_CRASH_HELPER") != "1" {
		t.Skip("helper process of TestCleanupAfterCrash")
	}
	w, err := Up(context.Background(), 2, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("octet", w.octet)
	select {}
}

func TestCleanupAfterCrash(t *testing.T) {
	if err := Available(); err != nil {
		testreq.Skip(t, group, err.Error())
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), "SPK_TESTHOST_CRASH_HELPER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var octet int
	if _, serr := fmt.Sscanf(line, "octet %d", &octet); err != nil || serr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q (%v)", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	if len(leftovers(octet)) == 0 {
		t.Fatal("a killed run left nothing, the test proves nothing")
	}
	// The hosts' processes died with their owner (PDEATHSIG on PID 1).
	waitFor(t, func() bool {
		for i := 0; i < 2; i++ {
			if out, _ := exec.Command("ip", "netns", "pids", hostNetns(octet, i)).Output(); len(strings.TrimSpace(string(out))) > 0 {
				return false
			}
		}
		return true
	}, "the crashed world's processes to die")
	// Test processes starting together each clean up: two at once must
	// both succeed.
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- Cleanup() }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if left := leftovers(octet); len(left) > 0 {
		t.Errorf("left after Cleanup: %v", left)
	}
}

func TestCleanupKeepsLiveWorlds(t *testing.T) {
	w := New(t, 1, Options{})
	if err := Cleanup(); err != nil {
		t.Fatal(err)
	}
	rootRun(t, w.Hosts[0], "true")
}

// TestUpTen measures bringing up ten hosts (the figure the issue quotes: 3-5 s).
func TestUpTen(t *testing.T) {
	if err := Available(); err != nil {
		testreq.Skip(t, group, err.Error())
	}
	start := time.Now()
	w, err := Up(context.Background(), 10, Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)
	defer func() {
		start := time.Now()
		if err := w.Down(); err != nil {
			t.Error(err)
		}
		t.Logf("Down of 10 hosts: %v", time.Since(start))
	}()
	t.Logf("Up of 10 hosts: %v", up)
	for _, h := range w.Hosts {
		rootRun(t, h, "true")
	}
}

func TestBadArguments(t *testing.T) {
	if _, err := Up(context.Background(), 0, Options{}); err == nil {
		t.Error("Up(0) worked")
	}
	w := &World{}
	if err := w.Partition(3); err == nil || !strings.Contains(err.Error(), "no host 3") {
		t.Errorf("Partition of a missing host: %v", err)
	}
	for _, bad := range []string{"", "Root", "a b", "x;rm", "-x"} {
		if validName(bad) {
			t.Errorf("validName(%q) = true", bad)
		}
	}
}

func TestOctetOf(t *testing.T) {
	for _, c := range []struct {
		name, kind string
		want       int
		ok         bool
	}{
		{"spk-47", "", 47, true},
		{"spk-47-3", "", 47, true},
		{"spk-b47", "b", 47, true},
		{"spk-b47", "", 0, false},
		{"spk-b47-1", "b", 0, false},
		{"spk-0-1", "", 0, false},
		{"spk-300", "", 0, false},
		{"veth0", "", 0, false},
	} {
		got, ok := octetOf(c.name, c.kind)
		if got != c.want || ok != c.ok {
			t.Errorf("octetOf(%q, %q) = %d, %v; want %d, %v", c.name, c.kind, got, ok, c.want, c.ok)
		}
	}
}
