package signature

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// What an installer's signature block holds: a DSSE envelope whose payload
// is an in-toto Statement v1. Its one subject is the installer, by the
// sha256 of its stored payload index (the trailer's): the index names the
// installer program's sha256 and every chunk's, so that digest covers every
// byte. The predicate says what the product is and who signed it.
const (
	PayloadType   = "application/vnd.in-toto+json"
	StatementType = "https://in-toto.io/Statement/v1"
	PredicateType = "https://github.com/sealpack/sealpack/blob/main/payload/FORMAT.md#signature-block"
	SubjectName   = "payload-index"
)

// Statement is the in-toto Statement v1 that an installer's envelope signs.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Predicate `json:"predicate"`
}

// Subject is an in-toto ResourceDescriptor: name and digests.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Predicate says what the installer is and who signed it. The signer's
// name is what the signer calls itself; its key id is what a check proves.
type Predicate struct {
	Title    string `json:"title"`
	Version  string `json:"version"`
	Platform string `json:"platform"`
	Signer   string `json:"signer"`
}

// Signed is a signature block read: the envelope and its statement. Until
// Verify says so, nothing in it is proven.
type Signed struct {
	Envelope  dsse.Envelope
	Statement Statement
	// KeyID is the key id the (first) signature names.
	KeyID string
}

// Signer is the name the statement gives to the signer.
func (s *Signed) Signer() string { return s.Statement.Predicate.Signer }

// Index is "sha256:<hex>" of the index the statement names.
func (s *Signed) Index() string { return "sha256:" + s.Statement.Subject[0].Digest["sha256"] }

// Errors of a check. Each names what failed.
var (
	// ErrNotSigned: the installer carries no signature block.
	ErrNotSigned = errors.New("the installer is NOT SIGNED")
	// ErrBadSignature: the signature names the key given but does not
	// verify: the statement or the signature was altered.
	ErrBadSignature = errors.New("the signature does not verify with the key it names: the signed statement or the signature was altered")
	// ErrEnvelope: the block is framed well but holds no envelope of an
	// installer signature.
	ErrEnvelope = errors.New("the signature block holds no sealpack signature envelope")
)

// WrongKeyError: the installer is signed by another key than the one given.
type WrongKeyError struct {
	Signer   string // the name the statement gives
	SignedBy string // the key id the signature names
	Given    string // the id of the key given
	GivenIs  KeyType
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("signed by another key: the signature names key %s (%q), the key given is %s key %s",
		e.SignedBy, e.Signer, e.GivenIs, e.Given)
}

// IndexError: the signature verifies but is over another index than this
// installer's.
type IndexError struct {
	Signed string // the index the statement names
	Index  string // this installer's
}

func (e *IndexError) Error() string {
	return fmt.Sprintf("the signature is over index %s, but this installer's index is %s: "+
		"its payload was re-indexed, or the signature block comes from another installer", e.Signed, e.Index)
}

// Sign makes the envelope of an installer whose stored index has sha256
// indexSHA. The same key and inputs give the same bytes: ed25519 is
// deterministic, and ECDSA signs with an RFC 6979 nonce (crypto/ecdsa does
// when given no random source).
func Sign(k *PrivateKey, indexSHA [32]byte, p Predicate) ([]byte, error) {
	st := Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: SubjectName, Digest: map[string]string{"sha256": hex.EncodeToString(indexSHA[:])}}},
		PredicateType: PredicateType,
		Predicate:     p,
	}
	body, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(dsseKey{k.pub, k})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(context.Background(), PayloadType, body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// Read parses a signature block's content without checking it.
func Read(block []byte) (*Signed, error) {
	s := &Signed{}
	if err := json.Unmarshal(block, &s.Envelope); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	env := &s.Envelope
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q, not %s", ErrEnvelope, env.PayloadType, PayloadType)
	}
	if len(env.Signatures) == 0 {
		return nil, fmt.Errorf("%w: no signature in the envelope", ErrEnvelope)
	}
	s.KeyID = env.Signatures[0].KeyID
	body, err := env.DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if err := json.Unmarshal(body, &s.Statement); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrEnvelope, err)
	}
	st := &s.Statement
	switch {
	case st.Type != StatementType:
		return nil, fmt.Errorf("%w: statement type %q, not %s", ErrEnvelope, st.Type, StatementType)
	case st.PredicateType != PredicateType:
		return nil, fmt.Errorf("%w: predicate type %q", ErrEnvelope, st.PredicateType)
	case len(st.Subject) != 1 || len(st.Subject[0].Digest["sha256"]) != 2*sha256.Size:
		return nil, fmt.Errorf("%w: the statement does not name one index by its sha256", ErrEnvelope)
	}
	return s, nil
}

// Verify checks the signature block's content with key, and that it signs
// the index whose digest is index ("sha256:<hex>"). It returns what the
// block says, now proven.
func Verify(block []byte, index string, key *PublicKey) (*Signed, error) {
	s, err := Read(block)
	if err != nil {
		return nil, err
	}
	named := false
	for _, sig := range s.Envelope.Signatures {
		named = named || sig.KeyID == key.id
	}
	if !named {
		return nil, &WrongKeyError{Signer: s.Signer(), SignedBy: s.KeyID, Given: key.id, GivenIs: key.typ}
	}
	ev, err := dsse.NewEnvelopeVerifier(dsseKey{pub: key})
	if err != nil {
		return nil, err
	}
	if _, err := ev.Verify(context.Background(), &s.Envelope); err != nil {
		return nil, ErrBadSignature
	}
	s.KeyID = key.id
	if s.Index() != index {
		return nil, &IndexError{Signed: s.Index(), Index: index}
	}
	return s, nil
}

// dsseKey is a key as DSSE's signer and verifier see it. It signs PAE, the
// envelope's pre-authentication encoding: ed25519 over its bytes, ECDSA
// over their sha256 (ASN.1 DER signature, what openssl dgst -sha256
// -verify checks).
type dsseKey struct {
	pub  *PublicKey
	priv *PrivateKey // nil to verify only
}

func (k dsseKey) KeyID() (string, error)   { return k.pub.id, nil }
func (k dsseKey) Public() crypto.PublicKey { return k.pub.key }

func (k dsseKey) Sign(_ context.Context, data []byte) ([]byte, error) {
	switch key := k.priv.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(key, data), nil
	case *ecdsa.PrivateKey:
		sum := sha256.Sum256(data)
		return key.Sign(nil, sum[:], crypto.SHA256) // nil: RFC 6979, deterministic
	}
	return nil, keyTypeError(fmt.Sprintf("a %T key", k.priv.key))
}

func (k dsseKey) Verify(_ context.Context, data, sig []byte) error {
	ok := false
	switch key := k.pub.key.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(key, data, sig)
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(data)
		ok = ecdsa.VerifyASN1(key, sum[:], sig)
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}
