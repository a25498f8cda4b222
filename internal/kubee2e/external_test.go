package kubee2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"golang.org/x/crypto/bcrypt"

	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// registryPassword is the password of the registries' pull user in these
// tests: not a word of any message, so a leak is found by grep.
const registryPassword = "Pull-er.pw7"

// The site's own registry (spec.registry.externalRegistry): a distribution
// registry with htpasswd and TLS on the jump host. The installer pushes the
// images there, no registry runs in the cluster, and kubelet pulls through
// containerd's CRI with the credentials, also after the installer exited.
func TestRealKubernetesExternalRegistry(t *testing.T) {
	// Beside the other clusters of this package: they mostly wait on
	// kubeadm and kubelet, and CI's time is bounded.
	t.Parallel()
	// Two nodes: the app spreads its two replicas over nodes.
	w, s := newSite(t, 3)
	master, node := w.Hosts[0], w.Hosts[1]
	addr, caFile := startSiteRegistry(t, w.JumpIP, s.dir)
	host, port, _ := net.SplitHostPort(addr)
	writeClusterfileWith(t, s.dir, w.Hosts[:1], w.Hosts[1:], fmt.Sprintf(`  registry:
    externalRegistry:
      domain: %s
      port: "%s"
      username: puller
      ca: %s
`, host, port, caFile))
	s.env = append(s.env, "SEALPACK_REGISTRY_PASSWORD="+registryPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	s.install(ctx, w.Hosts, "1 master + 2 nodes, images in the site's registry")
	k := kubectl{t: t, h: master}
	k.waitNodesReady(ctx, 3, 5*time.Minute)
	k.waitPodsRunning(ctx, 5*time.Minute)

	for _, repo := range []string{"pause", "coredns/coredns", "kube-apiserver", "sealpack/echo"} {
		if tags := siteTags(t, addr, caFile, repo); len(tags) == 0 {
			t.Errorf("the site's registry has no tags of %s", repo)
		}
	}
	if out, err := master.Exec(ctx, "systemctl is-active sealpack-registry; ls /usr/local/bin/sealpack-registry"); err == nil {
		t.Errorf("a registry runs in the cluster although the site has its own: %s", out)
	}
	if out, _ := node.Exec(ctx, "cat /etc/containerd/certs.d/registry.k8s.io/hosts.toml"); !strings.Contains(string(out), `[host."https://`+addr+`"]`) {
		t.Errorf("the node's mirrors do not name the site's registry:\n%s", out)
	}
	k.checkPullAfterInstaller(ctx, w.Hosts[1:])
	checkNoSecret(t, s.dir, registryPassword)
	if _, err := s.run(ctx, "reset", "-f", "Clusterfile", "--yes"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, h := range w.Hosts {
		checkClean(t, h)
	}
}

// checkNoSecret fails when secret is in any file the installer saved.
func checkNoSecret(t *testing.T, dir, secret string) {
	t.Helper()
	filepath.Walk(filepath.Join(dir, ".sealpack"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
			t.Errorf("%s holds the registry password", p)
		}
		return nil
	})
}

// startSiteRegistry serves a distribution registry with htpasswd (user
// puller) over TLS on ip until the test ends; it returns its address and
// the CA file that checks it.
func startSiteRegistry(t *testing.T, ip, dir string) (addr, caFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "site CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: ip}, IPAddresses: []net.IP{net.ParseIP(ip)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "site-ca.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	hash, _ := bcrypt.GenerateFromPassword([]byte(registryPassword), bcrypt.MinCost)
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(htpasswd, []byte("puller:"+string(hash)+"\n"), 0o600)

	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = "site-registry"
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}, "maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}}}
	cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "site", "path": htpasswd}}
	app := handlers.NewApp(context.Background(), cfg)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app, TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), caFile
}

// siteTags lists the tags of repo in the site's registry.
func siteTags(t *testing.T, addr, caFile, repo string) []string {
	t.Helper()
	pemBytes, _ := os.ReadFile(caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/v2/"+repo+"/tags/list", nil)
	req.SetBasicAuth("puller", registryPassword)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("the site's registry: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var list struct{ Tags []string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Logf("tags of %s: HTTP %d: %s", repo, resp.StatusCode, body)
	}
	return list.Tags
}
