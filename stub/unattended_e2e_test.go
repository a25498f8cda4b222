package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/testhost"
)

// The unattended installer killed with SIGKILL in the middle of copying
// files, then started again with the same command: it completes, nothing is
// done twice, and --json gives one event per line.
func TestUnattendedKill9ThenResume(t *testing.T) {
	w := testhost.New(t, 2, testhost.Options{})
	dir := t.TempDir()
	// A big incompressible file, so the copy takes long enough to be killed in.
	big := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 96<<20)
	rand.NewChaCha8([32]byte{9}).Read(data)
	os.WriteFile(big, data, 0o644)
	exe := writeKillable(t, dir, big)
	cf := filepath.Join(dir, "Clusterfile")
	os.WriteFile(cf, []byte(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: killed}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [`+w.Hosts[0].IP+`]
    roles: [master]
  - ips: [`+w.Hosts[1].IP+`]
    roles: [node]
`), 0o600)

	cmd := exec.Command(exe, "--unattended", "-f", cf, "--accept-new-host-keys", "--json")
	cmd.Dir = dir
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once distribute has moved some bytes.
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("--json printed a line that is not an event: %q", sc.Text())
		}
		if e.Type == event.Progress && e.Done > 8<<20 && e.Done < e.Total {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	cmd.Wait()
	if !killed {
		t.Fatal("the install ended before it could be killed during distribute")
	}

	// The same command again completes.
	cmd = exec.Command(exe, "--unattended", "-f", cf, "--json")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("re-run after kill -9: %v\n%s", err, out)
	}
	last := strings.Split(strings.TrimSpace(string(out)), "\n")
	var done event.Event
	json.Unmarshal([]byte(last[len(last)-1]), &done)
	if done.Type != event.Done || done.Status != event.OK {
		t.Errorf("last event %+v, want done/ok", done)
	}
	// The big file arrived whole on master0, and kubeadm ran once.
	got, err := w.Hosts[0].Exec(t.Context(), "sha256sum /var/lib/sealpack/rootfs/share/big")
	sum := sha256.Sum256(data)
	if err != nil || !strings.Contains(string(got), hex.EncodeToString(sum[:])) {
		t.Errorf("share/big on master0: %v %s", err, got)
	}
	raw, _ := w.Hosts[0].Exec(t.Context(), "cat /var/lib/fakek8s/calls.jsonl")
	calls, err := fakek8stest.ParseCalls(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	inits := 0
	for _, c := range calls {
		if c.Command == "kubeadm" && len(c.Argv) > 1 && c.Argv[1] == "init" && c.Host == "host-1" {
			inits++
		}
	}
	if inits != 1 {
		t.Errorf("kubeadm init ran %d times, want 1", inits)
	}
	// And a third run has nothing to do, quickly.
	start := time.Now()
	cmd = exec.Command(exe, "--unattended", "-f", cf)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "already done") {
		t.Errorf("third run: %v\n%s", err, out)
	}
	t.Logf("a run with everything done took %s", time.Since(start).Round(time.Millisecond))
}

// writeKillable rewrites the cluster installer in dir with a big file added.
func writeKillable(t *testing.T, dir, big string) string {
	t.Helper()
	bin, err := fakeK8sOnce()
	if err != nil {
		t.Fatal(err)
	}
	fake, _ := os.ReadFile(bin)
	st, _ := os.Stat(big)
	files := entries(fakek8stest.Rootfs(fake))
	files["share/big"] = entry{open: func() (io.ReadCloser, error) { return os.Open(big) }, size: st.Size()}
	return writeInstaller(t, filepath.Join(dir, "app-installer.run"), installerSpec{
		files: files,
		cmds:  []string{"kubectl get nodes"},
	})
}
