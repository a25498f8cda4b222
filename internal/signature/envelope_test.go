package signature

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/internal/payloadtest"
	"github.com/sealpack/sealpack/payload"
)

var testIndex = sha256.Sum256([]byte("an index"))

func testDigest(sha [32]byte) string { return fmt.Sprintf("sha256:%x", sha) }

var testPredicate = Predicate{Title: "acme-platform", Version: "3.1.4", Platform: "linux/amd64", Signer: "acme"}

func mustSign(t *testing.T, k *PrivateKey, sha [32]byte) []byte {
	t.Helper()
	b, err := Sign(k, sha, testPredicate)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSignVerify: an envelope verifies with its key and says what was
// signed: an in-toto statement whose subject digest is the index sha256.
func TestSignVerify(t *testing.T) {
	for _, typ := range KeyTypes {
		t.Run(string(typ), func(t *testing.T) {
			k := mustGenerate(t, typ)
			block := mustSign(t, k, testIndex)
			s, err := Verify(block, testDigest(testIndex), k.Public())
			if err != nil {
				t.Fatal(err)
			}
			if s.Signer() != "acme" || s.KeyID != k.Public().ID() || s.Index() != testDigest(testIndex) || s.Statement.Predicate != testPredicate {
				t.Errorf("verified %+v", s)
			}
			var env struct {
				PayloadType string `json:"payloadType"`
				Payload     string `json:"payload"`
				Signatures  []struct {
					KeyID string `json:"keyid"`
				} `json:"signatures"`
			}
			if err := json.Unmarshal(block, &env); err != nil {
				t.Fatal(err)
			}
			body, _ := base64.StdEncoding.DecodeString(env.Payload)
			want := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"payload-index","digest":{"sha256":"%x"}}],`, testIndex)
			if env.PayloadType != "application/vnd.in-toto+json" || !strings.HasPrefix(string(body), want) ||
				len(env.Signatures) != 1 || env.Signatures[0].KeyID != k.Public().ID() {
				t.Errorf("envelope %s\nstatement %s", block, body)
			}
		})
	}
}

// TestSignReproducible: the same key and index give the same bytes, for
// both key types (ECDSA with RFC 6979 nonces).
func TestSignReproducible(t *testing.T) {
	for _, typ := range KeyTypes {
		k := mustGenerate(t, typ)
		if a, b := mustSign(t, k, testIndex), mustSign(t, k, testIndex); !bytes.Equal(a, b) {
			t.Errorf("%s: two signatures of one index differ:\n%s\n%s", typ, a, b)
		}
	}
}

// reenvelope rewrites an envelope through edit.
func reenvelope(t *testing.T, block []byte, edit func(env map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(block, &env); err != nil {
		t.Fatal(err)
	}
	edit(env)
	b, _ := json.Marshal(env)
	return b
}

func sig0(env map[string]any) map[string]any {
	return env["signatures"].([]any)[0].(map[string]any)
}

// TestVerifyErrors: each way a signature can fail is its own error, and
// says what failed.
func TestVerifyErrors(t *testing.T) {
	ed, ed2, ec := mustGenerate(t, Ed25519), mustGenerate(t, Ed25519), mustGenerate(t, ECDSAP256)
	block := mustSign(t, ed, testIndex)
	other := mustSign(t, ed2, testIndex)
	idx := testDigest(testIndex)
	forged := reenvelope(t, block, func(env map[string]any) {
		body, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		body = bytes.Replace(body, []byte(`"version":"3.1.4"`), []byte(`"version":"9.9.9"`), 1)
		env["payload"] = base64.StdEncoding.EncodeToString(body)
	})
	flipped := reenvelope(t, block, func(env map[string]any) {
		s, _ := base64.StdEncoding.DecodeString(sig0(env)["sig"].(string))
		s[10] ^= 1
		sig0(env)["sig"] = base64.StdEncoding.EncodeToString(s)
	})
	// Another key's signature that claims to be ed's.
	claimed := reenvelope(t, other, func(env map[string]any) { sig0(env)["keyid"] = ed.Public().ID() })
	statement := func(st string) []byte {
		return reenvelope(t, block, func(env map[string]any) { env["payload"] = base64.StdEncoding.EncodeToString([]byte(st)) })
	}
	cases := []struct {
		name  string
		block []byte
		index string
		key   *PublicKey
		is    error
		says  []string
	}{
		{"another key", other, idx, ed.Public(), nil, []string{"signed by another key", ed2.Public().ID(), ed.Public().ID(), `"acme"`}},
		{"a key of the other type", block, idx, ec.Public(), nil, []string{"ECDSA P-256 key " + ec.Public().ID(), ed.Public().ID()}},
		{"statement altered", forged, idx, ed.Public(), ErrBadSignature, []string{"does not verify"}},
		{"signature altered", flipped, idx, ed.Public(), ErrBadSignature, nil},
		{"another key's signature claiming the key", claimed, idx, ed.Public(), ErrBadSignature, nil},
		{"another index", block, testDigest(sha256.Sum256([]byte("re-indexed"))), ed.Public(), nil, []string{"the signature is over index " + idx, "re-indexed"}},
		{"not JSON", []byte("{garbled"), idx, ed.Public(), ErrEnvelope, nil},
		{"another payload type", reenvelope(t, block, func(env map[string]any) { env["payloadType"] = "text/plain" }), idx, ed.Public(), ErrEnvelope, []string{"text/plain"}},
		{"no signature", reenvelope(t, block, func(env map[string]any) { env["signatures"] = []any{} }), idx, ed.Public(), ErrEnvelope, []string{"no signature"}},
		{"payload not base64", reenvelope(t, block, func(env map[string]any) { env["payload"] = "%%%" }), idx, ed.Public(), ErrEnvelope, nil},
		{"statement not JSON", statement("nope"), idx, ed.Public(), ErrEnvelope, []string{"statement"}},
		{"another statement type", statement(`{"_type":"https://in-toto.io/Statement/v0.1"}`), idx, ed.Public(), ErrEnvelope, []string{"Statement/v0.1"}},
		{"no subject", statement(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"` + PredicateType + `"}`), idx, ed.Public(), ErrEnvelope, []string{"one index"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Verify(tc.block, tc.index, tc.key)
			if err == nil {
				t.Fatalf("verified: %+v", s)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, does not say %q", err, w)
				}
			}
		})
	}
	var wk *WrongKeyError
	if _, err := Verify(other, idx, ed.Public()); !errors.As(err, &wk) || wk.SignedBy != ed2.Public().ID() || wk.Given != ed.Public().ID() {
		t.Errorf("another key: %v", err)
	}
	var ie *IndexError
	if _, err := Verify(block, "sha256:00", ed.Public()); !errors.As(err, &ie) || ie.Signed != idx {
		t.Errorf("another index: %v", err)
	}
}

// TestCheckInstaller: an installer signed at Commit checks with its key,
// an unsigned one is ErrNotSigned, and the report's line says who signed.
func TestCheckInstaller(t *testing.T) {
	k := mustGenerate(t, ECDSAP256)
	meta := payload.Meta{Platform: "linux/arm64", Labels: map[string]string{payload.LabelTitle: "acme-platform", payload.LabelVersion: "3.1.4"}}
	files := map[string][]byte{"etc/a": []byte("a")}
	r := payloadtest.WriteWith(t, files, meta, payload.WithSigner(k.PayloadSigner("acme")))
	s, err := Check(r, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	want := Predicate{Title: "acme-platform", Version: "3.1.4", Platform: "linux/arm64", Signer: "acme"}
	if s.Statement.Predicate != want || s.Index() != r.Digest() {
		t.Errorf("checked %+v over %s, installer %s", s.Statement.Predicate, s.Index(), r.Digest())
	}
	d := Describe(r)
	if !d.Signed || d.Signer != "acme" || d.KeyID != k.Public().ID() || d.Error != "" {
		t.Errorf("Describe = %+v", d)
	}
	if line := d.String(); line != "signed by acme ("+k.Public().ID()+"), not checked (verify --key KEY checks it)" {
		t.Errorf("line %q", line)
	}
	unsigned := payloadtest.Write(t, files, meta)
	if _, err := Check(unsigned, k.Public()); !errors.Is(err, ErrNotSigned) {
		t.Errorf("unsigned: %v, want ErrNotSigned", err)
	}
	if d := Describe(unsigned); d.Signed || d.String() != "NOT SIGNED" {
		t.Errorf("unsigned: %+v %q", d, d.String())
	}
	garbled := payloadtest.WriteWith(t, files, meta, payload.WithSigner(func([32]byte, *payload.Index) ([]byte, error) { return []byte("x"), nil }))
	if d := Describe(garbled); !d.Signed || !strings.Contains(d.String(), "signed, but the signature cannot be read: "+ErrEnvelope.Error()) {
		t.Errorf("garbled: %q", d.String())
	}
}
