package deployer

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// The CA is made once and kept (its key private); a master's certificate
// verifies against it for the master's address and the registry's name.
func TestRegistryCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := loadOrMakeCA(dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadOrMakeCA(dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if string(again.certPEM) != string(ca.certPEM) {
		t.Error("a second load made a new CA")
	}
	if st, err := os.Stat(filepath.Join(dir, caKeyName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode: %v %v, want 0600", st.Mode(), err)
	}
	certPEM, keyPEM, err := ca.serverCert("10.0.0.11")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)
	for _, name := range []string{"10.0.0.11", RegistryName} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("certificate for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.0.0.12"}); err == nil {
		t.Error("certificate of 10.0.0.11 verifies for 10.0.0.12")
	}
	if _, _, err := ca.serverCert("not-an-ip"); err == nil {
		t.Error("a certificate for a name that is no IP")
	}
	os.WriteFile(filepath.Join(dir, caCertName), []byte("junk"), 0o644)
	if _, err := loadOrMakeCA(dir, "c1"); err == nil {
		t.Error("a corrupt CA loaded")
	}
}
