package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/internal/testhost"
)

// A cluster of several masters with no controlPlaneEndpoint: kubeadm is
// given sealpack.apiserver, which each master resolves to itself and each
// node to the balancer it runs over every master's apiserver. The node's
// join went through that balancer (it knows no other way to the API); a
// joined master is added to it, a deleted one taken out; reset removes it.
func TestAPIServerBalancerFollowsTheMasters(t *testing.T) {
	w := testhost.New(t, 4, testhost.Options{})
	dir := t.TempDir()
	exe := clusterInstallerWith(t, dir, nil)
	m0, m1, n, m3 := w.Hosts[0].IP, w.Hosts[1].IP, w.Hosts[2].IP, w.Hosts[3].IP
	cf := filepath.Join(dir, "Clusterfile")
	os.WriteFile(cf, []byte(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: site}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [`+m0+`, `+m1+`]
    roles: [master]
  - ips: [`+n+`]
    roles: [node]
`), 0o600)
	j := jumpHost{t: t, w: w, dir: dir, exe: exe}
	run, on := j.run, j.on
	balancer := func() string { return on(2, "pgrep -af '[s]ealpack-apiserver-lb apiserver-lb'") }
	out := run("--unattended", "-f", cf, "--accept-new-host-keys")
	if !strings.Contains(out, "warning: 2 masters: etcd needs both") {
		t.Errorf("no warning that 2 masters do not survive the loss of one:\n%s", out)
	}

	for h, want := range map[int]string{0: m0, 1: m1, 2: "127.0.0.1"} {
		if got := on(h, "grep sealpack.apiserver /etc/hosts"); got != want+" sealpack.apiserver # written by sealpack" {
			t.Errorf("host %d's /etc/hosts names sealpack.apiserver as %q, want %s", h, got, want)
		}
	}
	if got := on(2, "grep server: /etc/kubernetes/kubelet.conf"); !strings.Contains(got, "https://sealpack.apiserver:6443") {
		t.Errorf("the node's kubelet reaches the API at %q, want sealpack.apiserver", got)
	}
	if got := balancer(); !strings.Contains(got, "--backend "+m0+":6443 --backend "+m1+":6443") {
		t.Errorf("the node's balancer: %q, want both masters", got)
	}
	if got := on(2, "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:6443/readyz"); got == "000" || got == "" {
		t.Errorf("no apiserver answers through the node's balancer (HTTP %q)", got)
	}
	kc, err := os.ReadFile(filepath.Join(dir, ".sealpack", "admin.conf"))
	if err != nil || !strings.Contains(string(kc), "server: https://"+m0+":6443") {
		t.Errorf("the jump host's admin.conf should name master0's address (it cannot resolve sealpack.apiserver): %v\n%s", err, kc)
	}

	run("join", "-f", cf, "--masters", m3, "--accept-new-host-keys")
	if got := balancer(); !strings.Contains(got, "--backend "+m3+":6443") {
		t.Errorf("after the join of master %s the node's balancer is %q", m3, got)
	}
	if got := on(3, "grep sealpack.apiserver /etc/hosts"); !strings.HasPrefix(got, m3+" ") {
		t.Errorf("the joined master resolves sealpack.apiserver as %q, want itself", got)
	}
	run("delete", "-f", cf, "--nodes", m3, "--yes")
	if got := balancer(); strings.Contains(got, m3) || !strings.Contains(got, m1) {
		t.Errorf("after the delete of master %s the node's balancer is %q", m3, got)
	}

	run("reset", "-f", cf, "--yes")
	if got := balancer() + on(2, "ls /usr/local/bin/sealpack-apiserver-lb 2>/dev/null; grep sealpack /etc/hosts"); got != "" {
		t.Errorf("after reset the node keeps: %s", got)
	}
}
