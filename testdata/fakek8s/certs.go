package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
)

// The certificates that every control-plane node must share; upload-certs
// carries them to joining control-plane nodes (kubeadm's names).
var sharedCerts = []struct{ secretKey, file string }{
	{"ca.crt", "ca.crt"}, {"ca.key", "ca.key"},
	{"sa.key", "sa.key"}, {"sa.pub", "sa.pub"},
	{"front-proxy-ca.crt", "front-proxy-ca.crt"}, {"front-proxy-ca.key", "front-proxy-ca.key"},
	{"etcd-ca.crt", "etcd/ca.crt"}, {"etcd-ca.key", "etcd/ca.key"},
}

// pkiPlan says what the serving certificates of a control-plane node name.
type pkiPlan struct {
	dir        string // on the host, e.g. /etc/kubernetes/pki
	nodeName   string
	advertise  net.IP
	dnsDomain  string
	serviceIP  net.IP
	extraSANs  []string
	endpointIP string // controlPlaneEndpoint host
}

// ensurePKI writes the certificate tree kubeadm writes, keeping what is
// already there (kubeadm reuses existing certificates, and a joining
// control-plane node gets the shared ones from the cluster).
func ensurePKI(e *env, out io.Writer, plan pkiPlan) (*keyPair, error) {
	dir := e.path(plan.dir)
	fmt.Fprintf(out, "[certs] Using certificateDir folder %q\n", plan.dir)
	ca, err := ensureCA(out, filepath.Join(dir, "ca"), "ca", "kubernetes")
	if err != nil {
		return nil, err
	}
	dns := []string{plan.nodeName, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + plan.dnsDomain}
	ips := []net.IP{plan.serviceIP, plan.advertise}
	for _, s := range append(append([]string{}, plan.extraSANs...), plan.endpointIP) {
		if s == "" {
			continue
		}
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, s)
		}
	}
	if err := ensureLeaf(out, ca, filepath.Join(dir, "apiserver"), "apiserver", certSpec{cn: "kube-apiserver", dns: uniqueStrings(dns), ips: uniqueIPs(ips), server: true}); err != nil {
		return nil, err
	}
	if err := ensureLeaf(out, ca, filepath.Join(dir, "apiserver-kubelet-client"), "apiserver-kubelet-client", certSpec{cn: "kube-apiserver-kubelet-client", orgs: []string{"kubeadm:cluster-admins"}, client: true}); err != nil {
		return nil, err
	}
	fp, err := ensureCA(out, filepath.Join(dir, "front-proxy-ca"), "front-proxy-ca", "front-proxy-ca")
	if err != nil {
		return nil, err
	}
	if err := ensureLeaf(out, fp, filepath.Join(dir, "front-proxy-client"), "front-proxy-client", certSpec{cn: "front-proxy-client", client: true}); err != nil {
		return nil, err
	}
	etcdCA, err := ensureCA(out, filepath.Join(dir, "etcd", "ca"), "etcd/ca", "etcd-ca")
	if err != nil {
		return nil, err
	}
	etcdIPs := uniqueIPs([]net.IP{plan.advertise, net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	for _, l := range []struct {
		base string
		spec certSpec
	}{
		{"etcd/server", certSpec{cn: plan.nodeName, dns: []string{plan.nodeName, "localhost"}, ips: etcdIPs, server: true, client: true}},
		{"etcd/peer", certSpec{cn: plan.nodeName, dns: []string{plan.nodeName, "localhost"}, ips: etcdIPs, server: true, client: true}},
		{"etcd/healthcheck-client", certSpec{cn: "kube-etcd-healthcheck-client", client: true}},
	} {
		if err := ensureLeaf(out, etcdCA, filepath.Join(dir, l.base), l.base, l.spec); err != nil {
			return nil, err
		}
	}
	if err := ensureLeaf(out, etcdCA, filepath.Join(dir, "apiserver-etcd-client"), "apiserver-etcd-client", certSpec{cn: "kube-apiserver-etcd-client", client: true}); err != nil {
		return nil, err
	}
	if err := ensureSAKey(out, dir); err != nil {
		return nil, err
	}
	return ca, nil
}

func uniqueStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func uniqueIPs(ips []net.IP) []net.IP {
	seen := map[string]bool{}
	var out []net.IP
	for _, ip := range ips {
		if ip != nil && !seen[ip.String()] {
			seen[ip.String()] = true
			out = append(out, ip)
		}
	}
	return out
}

func ensureCA(out io.Writer, base, name, cn string) (*keyPair, error) {
	if kp, err := loadPair(base); err == nil {
		fmt.Fprintf(out, "[certs] Using existing %s certificate authority\n", name)
		return kp, nil
	} else if _, serr := os.Stat(base + ".crt"); serr == nil {
		return nil, fmt.Errorf("failure loading %s certificate authority: %w", name, err)
	}
	fmt.Fprintf(out, "[certs] Generating %q certificate and key\n", name)
	kp, err := newCA(cn)
	if err != nil {
		return nil, err
	}
	return kp, kp.write(base)
}

func ensureLeaf(out io.Writer, ca *keyPair, base, name string, spec certSpec) error {
	if kp, err := loadPair(base); err == nil {
		if kp.cert.CheckSignatureFrom(ca.cert) == nil {
			fmt.Fprintf(out, "[certs] Using existing %s certificate and key on disk\n", name)
			return nil
		}
		return fmt.Errorf("a valid certificate and key for %s exist on disk, but they are not signed by the expected CA", name)
	}
	fmt.Fprintf(out, "[certs] Generating %q certificate and key\n", name)
	if spec.server {
		fmt.Fprintf(out, "[certs] %s serving cert is signed for DNS names %v and IPs %v\n", name, spec.dns, spec.ips)
	}
	kp, err := ca.issue(spec)
	if err != nil {
		return err
	}
	return kp.write(base)
}

func ensureSAKey(out io.Writer, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "sa.key")); err == nil {
		fmt.Fprintln(out, "[certs] Using the existing \"sa\" key")
		return nil
	}
	fmt.Fprintln(out, "[certs] Generating \"sa\" key and public key")
	key, err := newKey()
	if err != nil {
		return err
	}
	kp := &keyPair{key: key}
	keyPEM, err := kp.keyPEM()
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "sa.key"), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "sa.pub"), pemBlock("PUBLIC KEY", pub), 0o644)
}

// sharedCertsPresent is kubeadm's check before a control-plane join
// without --certificate-key: the shared certificates must have been copied.
func sharedCertsPresent(e *env, dir string) error {
	var missing []string
	for _, c := range sharedCerts {
		p := filepath.Join(dir, c.file)
		if _, err := os.Stat(e.path(p)); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("failure loading certificate for CA: couldn't load the certificate file %s: open %s: no such file or directory", missing[0], missing[0])
	}
	return nil
}
