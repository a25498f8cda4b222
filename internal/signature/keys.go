// Package signature signs sealpack installers and checks their signatures:
// the keys (ed25519 or ECDSA P-256, in PEM) and the envelope (DSSE, over an
// in-toto Statement v1 whose subject is the installer's payload index). The
// payload package stores the envelope as opaque bytes in its signature block.
package signature

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PassphraseEnv is where the build tool reads the passphrase of an
// encrypted private key from, when it does not ask on a terminal.
const PassphraseEnv = "SEALPACK_SIGN_PASSPHRASE"

// KeyType is a kind of key sealpack signs with.
type KeyType string

const (
	Ed25519   KeyType = "ed25519"    // the default: small, deterministic signatures
	ECDSAP256 KeyType = "ecdsa-p256" // where policy asks for a NIST curve
)

// KeyTypes are the types keygen makes, the default first.
var KeyTypes = []KeyType{Ed25519, ECDSAP256}

func (t KeyType) String() string {
	if t == ECDSAP256 {
		return "ECDSA P-256"
	}
	return string(t)
}

// PEM block types read and written.
const (
	pemPublic       = "PUBLIC KEY"                     // PKIX
	pemPKCS8        = "PRIVATE KEY"                    // openssl genpkey
	pemSEC1         = "EC PRIVATE KEY"                 // openssl ecparam -genkey
	pemSigstore     = "ENCRYPTED SIGSTORE PRIVATE KEY" // cosign generate-key-pair, sealpack keygen
	pemCosignLegacy = "ENCRYPTED COSIGN PRIVATE KEY"   // cosign before 2.0
)

// ErrPassphrase is returned for an encrypted private key that the
// passphrase given does not open.
var ErrPassphrase = errors.New("wrong passphrase")

// PublicKey checks signatures.
type PublicKey struct {
	key crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey on P-256
	typ KeyType
	id  string
}

// PrivateKey makes signatures.
type PrivateKey struct {
	key crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey on P-256
	pub *PublicKey
}

// ID is the key's fingerprint, as every message and every envelope names
// it: "SHA256:" and the unpadded base64 of the sha256 of the key's PKIX DER
// (the body of its .pub file), the form ssh-keygen -l prints. Anyone can
// compute it with openssl (see the README).
func (k *PublicKey) ID() string { return k.id }

// Type is the key's type.
func (k *PublicKey) Type() KeyType { return k.typ }

// Public is the key that checks k's signatures.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Generate makes a new key of type t.
func Generate(t KeyType) (*PrivateKey, error) {
	var key crypto.Signer
	var err error
	switch t {
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("key type %q: sealpack signs with %s or %s", t, Ed25519, ECDSAP256)
	}
	if err != nil {
		return nil, err
	}
	return newPrivate(key)
}

func newPrivate(key crypto.Signer) (*PrivateKey, error) {
	pub, err := newPublic(key.Public())
	if err != nil {
		return nil, err
	}
	return &PrivateKey{key: key, pub: pub}, nil
}

// newPublic checks that key is of a type sealpack signs with.
func newPublic(key crypto.PublicKey) (*PublicKey, error) {
	var typ KeyType
	switch k := key.(type) {
	case ed25519.PublicKey:
		typ = Ed25519
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, keyTypeError("an ECDSA " + k.Curve.Params().Name + " key")
		}
		typ = ECDSAP256
	case *rsa.PublicKey:
		return nil, keyTypeError("an RSA key")
	default:
		return nil, keyTypeError(fmt.Sprintf("a %T key", key))
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &PublicKey{key: key, typ: typ, id: "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])}, nil
}

// KeyTypeError is a key of a type sealpack does not sign with.
type KeyTypeError struct{ What string }

func (e *KeyTypeError) Error() string {
	return fmt.Sprintf("%s: sealpack signs with %s or %s keys", e.What, Ed25519, ECDSAP256)
}

func keyTypeError(what string) error { return &KeyTypeError{What: what} }

// MarshalPublicKey is the .pub file: PKIX "PUBLIC KEY" PEM.
func MarshalPublicKey(k *PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k.key) // a key newPublic accepted
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der})
}

// MarshalPrivateKey is the .key file: PKCS#8 DER encrypted with passphrase
// as cosign does it ("ENCRYPTED SIGSTORE PRIVATE KEY": scrypt and NaCl
// secretbox, go-securesystemslib/encrypted), or plain "PRIVATE KEY" PEM
// when passphrase is nil.
func MarshalPrivateKey(k *PrivateKey, passphrase []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		return nil, err
	}
	if passphrase == nil {
		return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8, Bytes: der}), nil
	}
	enc, err := encrypted.Encrypt(der, passphrase)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSigstore, Bytes: enc}), nil
}

// ParsePrivateKey reads a private key: PKCS#8 "PRIVATE KEY" (openssl
// genpkey), SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey, its "EC
// PARAMETERS" block skipped), or "ENCRYPTED SIGSTORE PRIVATE KEY" (cosign,
// sealpack keygen). passphrase is called for an encrypted key only.
func ParsePrivateKey(data []byte, passphrase func() ([]byte, error)) (*PrivateKey, error) {
	b, err := keyBlock(data)
	if err != nil {
		return nil, err
	}
	der := b.Bytes
	switch b.Type {
	case pemSigstore, pemCosignLegacy:
		if passphrase == nil {
			return nil, errors.New("the key is encrypted and no passphrase was given")
		}
		pass, err := passphrase()
		if err != nil {
			return nil, err
		}
		if der, err = encrypted.Decrypt(b.Bytes, pass); err != nil {
			if err.Error() == "encrypted: decryption failed" {
				return nil, ErrPassphrase
			}
			return nil, fmt.Errorf("cannot decrypt the key: %w", err)
		}
		fallthrough
	case pemPKCS8:
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("not a PKCS#8 private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, keyTypeError(fmt.Sprintf("a %T key", k))
		}
		return newPrivate(s)
	case pemSEC1:
		k, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("not a SEC1 EC private key: %w", err)
		}
		return newPrivate(k)
	case "RSA PRIVATE KEY":
		return nil, keyTypeError("an RSA key")
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("a PKCS#8 key encrypted by openssl, which sealpack does not decrypt: " +
			"use a key of sealpack keygen or cosign generate-key-pair, or decrypt it with openssl pkey")
	case "OPENSSH PRIVATE KEY":
		return nil, errors.New("an OpenSSH key: use a key of sealpack keygen, openssl genpkey or cosign generate-key-pair")
	case pemPublic:
		return nil, errors.New("a public key: signing needs the private key (NAME.key of sealpack keygen)")
	}
	return nil, fmt.Errorf("a PEM %q block, not a private key", b.Type)
}

// ParsePublicKey reads a PKIX "PUBLIC KEY" PEM (a .pub of sealpack keygen,
// cosign generate-key-pair or openssl pkey -pubout).
func ParsePublicKey(data []byte) (*PublicKey, error) {
	b, err := keyBlock(data)
	if err != nil {
		return nil, err
	}
	switch b.Type {
	case pemPublic:
	case pemPKCS8, pemSEC1, pemSigstore, pemCosignLegacy, "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, errors.New("a private key: give the vendor's public key (NAME.pub of sealpack keygen)")
	default:
		return nil, fmt.Errorf("a PEM %q block, not a public key", b.Type)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	}
	return newPublic(k)
}

// keyBlock is the first PEM block of data other than "EC PARAMETERS".
func keyBlock(data []byte) (*pem.Block, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		switch {
		case b == nil:
			return nil, errors.New("no PEM key in it (a key of sealpack keygen, openssl genpkey or cosign generate-key-pair)")
		case b.Type != "EC PARAMETERS":
			return b, nil
		}
	}
}

// LoadPrivateKey reads the private key file at path; errors name the file.
func LoadPrivateKey(path string, passphrase func() ([]byte, error)) (*PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadPublicKey reads the public key file at path; errors name the file.
func LoadPublicKey(path string) (*PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
