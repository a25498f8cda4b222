package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/sealpack/sealpack/internal/testreq"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustGenerate(t testing.TB, typ KeyType) *PrivateKey {
	t.Helper()
	k, err := Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pass(p string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(p), nil } }

// TestParsePrivateKey: every format sealpack reads gives the key it holds;
// every other gives an error that says what the file is.
func TestParsePrivateKey(t *testing.T) {
	ed := mustGenerate(t, Ed25519)
	ec := mustGenerate(t, ECDSAP256)
	ecKey := ec.key.(*ecdsa.PrivateKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384SEC1, _ := x509.MarshalECPrivateKey(p384)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	sealed := func(k *PrivateKey, p string) []byte {
		b, err := MarshalPrivateKey(k, []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// cosign before 2.0 wrote the same encryption under another name.
	legacy, _ := encrypted.Encrypt(mustPKCS8(t, ed.key), []byte("old"))
	params := pemOf("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7})
	cases := []struct {
		name string
		data []byte
		pass func() ([]byte, error)
		want *PrivateKey // nil: an error containing err
		err  string
	}{
		{name: "PKCS#8 ed25519", data: pemOf("PRIVATE KEY", mustPKCS8(t, ed.key)), want: ed},
		{name: "PKCS#8 P-256", data: pemOf("PRIVATE KEY", mustPKCS8(t, ecKey)), want: ec},
		{name: "SEC1 P-256", data: pemOf("EC PRIVATE KEY", sec1), want: ec},
		{name: "SEC1 P-256 after EC PARAMETERS", data: append(params, pemOf("EC PRIVATE KEY", sec1)...), want: ec},
		{name: "encrypted ed25519", data: sealed(ed, "right"), pass: pass("right"), want: ed},
		{name: "encrypted P-256", data: sealed(ec, "right"), pass: pass("right"), want: ec},
		{name: "encrypted by cosign 1", data: pemOf("ENCRYPTED COSIGN PRIVATE KEY", legacy), pass: pass("old"), want: ed},
		{name: "encrypted, wrong passphrase", data: sealed(ed, "right"), pass: pass("wrong"), err: "wrong passphrase"},
		{name: "encrypted, empty passphrase", data: sealed(ec, "right"), pass: pass(""), err: "wrong passphrase"},
		{name: "encrypted, no passphrase", data: sealed(ec, "right"), err: "no passphrase"},
		{name: "encrypted, garbled", data: pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", []byte("{}")), pass: pass("x"), err: "cannot decrypt"},
		{name: "PKCS#8 RSA", data: pemOf("PRIVATE KEY", mustPKCS8(t, rsaKey)), err: "an RSA key: sealpack signs with ed25519 or ECDSA P-256"},
		{name: "PKCS#1 RSA", data: pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), err: "an RSA key"},
		{name: "PKCS#8 P-384", data: pemOf("PRIVATE KEY", mustPKCS8(t, p384)), err: "an ECDSA P-384 key: sealpack signs with"},
		{name: "SEC1 P-384", data: pemOf("EC PRIVATE KEY", p384SEC1), err: "an ECDSA P-384 key"},
		{name: "encrypted P-384", data: pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", must(encrypted.Encrypt(mustPKCS8(t, p384), []byte("p")))), pass: pass("p"), err: "P-384"},
		{name: "openssl-encrypted PKCS#8", data: pemOf("ENCRYPTED PRIVATE KEY", []byte{1}), err: "encrypted by openssl"},
		{name: "OpenSSH", data: pemOf("OPENSSH PRIVATE KEY", []byte{1}), err: "an OpenSSH key"},
		{name: "public key", data: MarshalPublicKey(ed.Public()), err: "a public key: signing needs the private key"},
		{name: "certificate", data: pemOf("CERTIFICATE", []byte{1}), err: `a PEM "CERTIFICATE" block`},
		{name: "garbled PKCS#8", data: pemOf("PRIVATE KEY", []byte{1, 2, 3}), err: "not a PKCS#8 private key"},
		{name: "not PEM", data: []byte("hello"), err: "no PEM key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKey(tc.data, tc.pass)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Public().ID() != tc.want.Public().ID() || k.Public().Type() != tc.want.Public().Type() {
				t.Errorf("read %s %s, want %s %s", k.Public().Type(), k.Public().ID(), tc.want.Public().Type(), tc.want.Public().ID())
			}
		})
	}
	if _, err := ParsePrivateKey(sealed(ed, "right"), pass("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Errorf("wrong passphrase: %v, want ErrPassphrase", err)
	}
	var kte *KeyTypeError
	if _, err := ParsePrivateKey(pemOf("PRIVATE KEY", mustPKCS8(t, rsaKey)), nil); !errors.As(err, &kte) {
		t.Errorf("RSA: %v, want a KeyTypeError", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestParsePublicKey: the .pub of either type reads back with its id; RSA,
// P-384 and private keys are named for what they are.
func TestParsePublicKey(t *testing.T) {
	for _, typ := range KeyTypes {
		k := mustGenerate(t, typ)
		got, err := ParsePublicKey(MarshalPublicKey(k.Public()))
		if err != nil || got.ID() != k.Public().ID() || got.Type() != typ {
			t.Errorf("%s: %v, %v", typ, got, err)
		}
		priv, _ := MarshalPrivateKey(k, nil)
		if _, err := ParsePublicKey(priv); err == nil || !strings.Contains(err.Error(), "a private key: give the vendor's public key") {
			t.Errorf("%s private key as public: %v", typ, err)
		}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, tc := range map[string]struct {
		key  any
		want string
	}{"RSA": {&rsaKey.PublicKey, "an RSA key"}, "P-384": {&p384.PublicKey, "an ECDSA P-384 key"}} {
		der, _ := x509.MarshalPKIXPublicKey(tc.key)
		if _, err := ParsePublicKey(pemOf("PUBLIC KEY", der)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	for _, bad := range [][]byte{nil, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("%q read as a key", bad)
		}
	}
}

// TestKeyIDIsOpenSSLs: the key id is what the README's openssl command
// prints for the .pub file: sha256 of the PKIX DER, base64 without padding.
func TestKeyIDIsOpenSSLs(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testreq.Skip(t, "key ids and keys checked with openssl", "needs openssl (make deps as root installs it)")
	}
	for _, typ := range KeyTypes {
		k := mustGenerate(t, typ)
		pub := filepath.Join(t.TempDir(), "vendor.pub")
		os.WriteFile(pub, MarshalPublicKey(k.Public()), 0o644)
		out, err := exec.Command("sh", "-c", `openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -binary | base64 | tr -d '='`, "sh", pub).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := "SHA256:" + strings.TrimSpace(string(out)); got != k.Public().ID() {
			t.Errorf("%s: openssl says %s, ID() %s", typ, got, k.Public().ID())
		}
	}
}

// TestOpenSSLKeys reads keys as openssl writes them: genpkey (PKCS#8) of
// both types, and ecparam -genkey (EC PARAMETERS, then SEC1); P-384 and RSA
// keys of openssl are refused by type.
func TestOpenSSLKeys(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testreq.Skip(t, "key ids and keys checked with openssl", "needs openssl (make deps as root installs it)")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		cmd  string
		want KeyType
		err  string
	}{
		{cmd: "openssl genpkey -algorithm ed25519", want: Ed25519},
		{cmd: "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256", want: ECDSAP256},
		{cmd: "openssl ecparam -name prime256v1 -genkey", want: ECDSAP256},
		{cmd: "openssl ecparam -name secp384r1 -genkey", err: "an ECDSA P-384 key"},
		{cmd: "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048", err: "an RSA key"},
	} {
		key := filepath.Join(dir, "k.pem")
		if out, err := exec.Command("sh", "-c", tc.cmd+` -out "$1"`, "sh", key).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", tc.cmd, err, out)
		}
		k, err := LoadPrivateKey(key, nil)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), key) {
				t.Errorf("%s: %v, want an error naming %s and saying %q", tc.cmd, err, key, tc.err)
			}
			continue
		}
		if err != nil || k.Public().Type() != tc.want {
			t.Errorf("%s: %v, %v", tc.cmd, k, err)
			continue
		}
		// Its public half, as openssl writes it, is the key's.
		pub, err := exec.Command("openssl", "pkey", "-in", key, "-pubout").Output()
		if err != nil {
			t.Fatal(err)
		}
		if p, err := ParsePublicKey(pub); err != nil || p.ID() != k.Public().ID() {
			t.Errorf("%s: public key %v, %v", tc.cmd, p, err)
		}
	}
}

// TestMarshalRoundTrip: keygen's files read back, encrypted or not.
func TestMarshalRoundTrip(t *testing.T) {
	for _, typ := range KeyTypes {
		k := mustGenerate(t, typ)
		for _, p := range [][]byte{nil, []byte("s3cret")} {
			b, err := MarshalPrivateKey(k, p)
			if err != nil {
				t.Fatal(err)
			}
			if enc := strings.Contains(string(b), "ENCRYPTED SIGSTORE PRIVATE KEY"); enc != (p != nil) {
				t.Errorf("%s: encrypted %v with passphrase %q", typ, enc, p)
			}
			got, err := ParsePrivateKey(b, pass(string(p)))
			if err != nil || got.Public().ID() != k.Public().ID() {
				t.Errorf("%s %q: %v", typ, p, err)
			}
		}
	}
	if _, err := Generate("rsa"); err == nil {
		t.Error("Generate(rsa) made a key")
	}
}
