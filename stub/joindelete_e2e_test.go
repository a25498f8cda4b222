package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/internal/testhost"
)

// join and delete change the cluster and the host list of the Clusterfile
// they were given, keeping the rest of it as the user wrote it; delete and
// reset refuse to run without --yes when there is no terminal to ask on.
func TestJoinDeleteUpdateClusterfile(t *testing.T) {
	w := testhost.New(t, 3, testhost.Options{})
	dir := t.TempDir()
	exe := clusterInstaller(t, dir)
	cf := filepath.Join(dir, "Clusterfile")
	orig := `# our site, written by hand
apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: site}
spec:
  ssh: {passwd: sealpack}   # the lab password
  hosts:
  - ips: [` + w.Hosts[0].IP + `]
    roles: [master]
  - ips: [` + w.Hosts[1].IP + `]
    roles: [node]
`
	os.WriteFile(cf, []byte(orig), 0o600)
	run := jumpHost{t: t, w: w, dir: dir, exe: exe}.run
	if out := run("status", "-f", cf); !strings.Contains(out, "no install has completed yet") {
		t.Errorf("status before the install:\n%s", out)
	}
	run("--unattended", "-f", cf, "--accept-new-host-keys")
	if out := run("status", "-f", cf); !strings.Contains(out, productName+" "+productVer+" installed (this installer)") ||
		!strings.Contains(out, w.Hosts[0].IP) || !strings.Contains(out, "init-master0") || !strings.Contains(out, "by the installed version") {
		t.Errorf("status after the install:\n%s", out)
	}
	run("join", "-f", cf, "--nodes", w.Hosts[2].IP, "--accept-new-host-keys")
	b, _ := os.ReadFile(cf)
	c, _, err := clusterfile.Parse("Clusterfile", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes()) != 2 || !strings.Contains(string(b), "# our site, written by hand") || !strings.Contains(string(b), "# the lab password") {
		t.Errorf("after join the Clusterfile is:\n%s", b)
	}
	// Without a terminal, delete needs --yes, and then nothing changed.
	cmd := exec.Command(exe, "delete", "-f", cf, "--nodes", w.Hosts[1].IP)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--yes") {
		t.Errorf("delete without --yes: %v\n%s", err, out)
	}
	run("delete", "-f", cf, "--nodes", w.Hosts[1].IP, "--yes")
	b, _ = os.ReadFile(cf)
	if strings.Contains(string(b), w.Hosts[1].IP) || !strings.Contains(string(b), w.Hosts[2].IP) || !strings.Contains(string(b), "# the lab password") {
		t.Errorf("after delete the Clusterfile is:\n%s", b)
	}
	if out, _ := w.Hosts[1].Exec(t.Context(), "ls /etc/kubernetes/kubelet.conf /var/lib/sealpack 2>/dev/null"); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("the deleted host still carries the cluster: %s", out)
	}
	// Without a terminal reset names the hosts it would wipe, and does nothing.
	cmd = exec.Command(exe, "reset", "-f", cf)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), w.Hosts[0].IP+", "+w.Hosts[2].IP) || !strings.Contains(string(out), "nothing was done: pass --yes") {
		t.Errorf("reset without --yes: %v\n%s", err, out)
	}
	run("reset", "-f", cf, "--yes")
	for _, h := range []int{0, 2} {
		if out, _ := w.Hosts[h].Exec(t.Context(), "ls /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /var/lib/sealpack 2>/dev/null"); len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("host %d not clean after reset: %s", h, out)
		}
	}
}
