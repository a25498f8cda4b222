package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/testhost"
	"github.com/sealpack/sealpack/payload"
)

// The masters' registries outlive the installer, and follow the masters: a
// joined master serves the images and every host lists it as a mirror; a
// deleted one leaves every host's mirrors; reset removes what sealpack
// wrote and nothing else.
func TestClusterRegistryFollowsTheMasters(t *testing.T) {
	w := testhost.New(t, 3, testhost.Options{})
	dir := t.TempDir()
	var img testImage
	exe := clusterInstallerWith(t, dir, func(files map[string]entry) []payload.Image {
		var pi payload.Image
		img, pi = addImage(t, files, "docker.io/library/nginx:1.27", 3<<20)
		return []payload.Image{pi}
	})
	cf := filepath.Join(dir, "Clusterfile")
	os.WriteFile(cf, []byte(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: site}
spec:
  ssh: {passwd: sealpack}
  hosts:
  - ips: [`+w.Hosts[0].IP+`]
    roles: [master]
  - ips: [`+w.Hosts[1].IP+`]
    roles: [node]
`), 0o600)
	j := jumpHost{t: t, w: w, dir: dir, exe: exe}
	run, exec := j.run, j.on
	run("--unattended", "-f", cf, "--accept-new-host-keys")
	client := registryClient(t, filepath.Join(dir, ".sealpack", "registry-ca.crt"))
	m0, h1, h2 := w.Hosts[0].IP, w.Hosts[1].IP, w.Hosts[2].IP

	// The installer has exited: master0 serves the image, as carried.
	checkServes(t, client, m0, img)
	if got := exec(1, "cat /etc/containerd/certs.d/docker.io/hosts.toml"); strings.Contains(got, "127.0.0.1") || !strings.Contains(got, `[host."https://`+m0+`:5000"]`) {
		t.Errorf("after the install the node's mirrors should be the masters' registries only:\n%s", got)
	}
	if got := exec(1, "grep sealpack.registry /etc/hosts"); !strings.Contains(got, m0+" sealpack.registry") {
		t.Errorf("the node's /etc/hosts does not name master0 as sealpack.registry: %q", got)
	}

	run("join", "-f", cf, "--masters", h2, "--accept-new-host-keys")
	checkServes(t, client, h2, img)
	for h := 0; h < 2; h++ {
		if got := exec(h, "cat /etc/containerd/certs.d/docker.io/hosts.toml"); !strings.Contains(got, `[host."https://`+h2+`:5000"]`) {
			t.Errorf("host %d does not list the joined master's registry:\n%s", h, got)
		}
	}
	if got := exec(2, "grep sealpack.registry /etc/hosts"); !strings.Contains(got, h2+" sealpack.registry") {
		t.Errorf("the joined master's /etc/hosts: %q, want its own address", got)
	}

	run("delete", "-f", cf, "--nodes", h2, "--yes")
	for h := 0; h < 2; h++ {
		got := exec(h, "cat /etc/containerd/certs.d/docker.io/hosts.toml")
		if strings.Contains(got, h2) || !strings.Contains(got, `[host."https://`+m0+`:5000"]`) {
			t.Errorf("host %d after the delete of master %s:\n%s", h, h2, got)
		}
	}
	if got := exec(2, "ls /usr/local/bin/sealpack-registry /var/lib/sealpack 2>/dev/null; grep sealpack /etc/hosts"); strings.TrimSpace(got) != "" {
		t.Errorf("the deleted master keeps: %s", got)
	}
	if _, err := client.Get("https://" + h2 + ":5000/v2/"); err == nil {
		t.Errorf("the deleted master still serves the images")
	}
	_ = h1

	exec(0, "mkdir -p /etc/containerd/certs.d/example.org && echo 'server = \"https://example.org\"' > /etc/containerd/certs.d/example.org/hosts.toml")
	run("reset", "-f", cf, "--yes")
	if got := exec(0, "ls /usr/local/bin/sealpack-registry /etc/containerd/certs.d/docker.io 2>/dev/null; grep sealpack /etc/hosts"); strings.TrimSpace(got) != "" {
		t.Errorf("after reset master0 keeps: %s", got)
	}
	if got := exec(0, "cat /etc/containerd/certs.d/example.org/hosts.toml"); !strings.Contains(got, "example.org") {
		t.Errorf("reset removed a hosts.toml the user wrote")
	}
	egress, err := w.Egress(t.Context())
	if err != nil || egress.Total() != 0 {
		t.Errorf("egress toward the outside: %s attempts, %v; want none", egress, err)
	}
	t.Logf("egress toward the outside: %d packets", egress.Total())
}

// registryClient trusts the cluster's registry CA only.
func registryClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// checkServes pulls img's manifest and layer from the registry on ip as
// containerd does (?ns=docker.io) and compares them with what was carried.
func checkServes(t *testing.T, c *http.Client, ip string, img testImage) {
	t.Helper()
	base := "https://" + ip + ":5000/v2/library/nginx/"
	req, _ := http.NewRequest(http.MethodGet, base+"manifests/1.27?ns=docker.io", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("registry on %s: %v", ip, err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); resp.StatusCode != 200 || got != img.manifest {
		t.Fatalf("registry on %s: manifest %s (HTTP %d), want %s", ip, got, resp.StatusCode, img.manifest)
	}
	layer := fmtDigest(img.layer)
	resp, err = c.Get(base + "blobs/" + layer + "?ns=docker.io")
	if err != nil {
		t.Fatalf("registry on %s: %v", ip, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(got, img.layer) {
		t.Fatalf("registry on %s: layer %s: %d bytes (HTTP %d, %v), want the %d carried", ip, layer, len(got), resp.StatusCode, err, len(img.layer))
	}
}
