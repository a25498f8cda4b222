package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sealpack/sealpack/internal/signature"
	"github.com/sealpack/sealpack/internal/testreq"
	"github.com/sealpack/sealpack/payload"
)

// keygen makes a key pair NAME.key, NAME.pub in dir, unencrypted unless
// SEALPACK_SIGN_PASSPHRASE is set, and returns the private key's path.
func keygen(t *testing.T, dir, name string, typ signature.KeyType) string {
	t.Helper()
	args := []string{"keygen", "-o", filepath.Join(dir, name), "--type", string(typ)}
	if os.Getenv(signature.PassphraseEnv) == "" {
		args = append(args, "--no-passphrase")
	}
	if _, stderr, err := sealpack(t, args...); err != nil {
		t.Fatalf("keygen: %v\n%s", err, stderr)
	}
	return filepath.Join(dir, name+".key")
}

func mustPub(t *testing.T, path string) *signature.PublicKey {
	t.Helper()
	k, err := signature.LoadPublicKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeygen: keygen writes an encrypted private key (passphrase from the
// environment here; no terminal to ask on) and its public key, never over
// an existing key; --no-passphrase and --type ecdsa-p256 do what they say.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "acme")
	if _, _, err := sealpack(t, "keygen", "-o", name); err == nil || !strings.Contains(err.Error(), signature.PassphraseEnv) || !strings.Contains(err.Error(), "--no-passphrase") {
		t.Fatalf("keygen without a passphrase or a terminal: %v", err)
	}
	t.Setenv(signature.PassphraseEnv, "correct horse")
	stdout, stderr, err := sealpack(t, "keygen", "-o", name)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	priv, _ := os.ReadFile(name + ".key")
	st, _ := os.Stat(name + ".key")
	if !bytes.HasPrefix(priv, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")) || st.Mode().Perm() != 0o600 {
		t.Errorf("acme.key: mode %v\n%s", st.Mode(), priv)
	}
	k, err := signature.LoadPrivateKey(name+".key", func() ([]byte, error) { return []byte("correct horse"), nil })
	if err != nil || k.Public().Type() != signature.Ed25519 {
		t.Fatalf("reading acme.key: %v", err)
	}
	if pub := mustPub(t, name+".pub"); pub.ID() != k.Public().ID() || !strings.Contains(stdout, "key id "+pub.ID()) {
		t.Errorf("acme.pub is %s, the key %s; output:\n%s", pub.ID(), k.Public().ID(), stdout)
	}
	if strings.Contains(stdout+stderr, "correct horse") {
		t.Error("the passphrase was printed")
	}
	if _, _, err := sealpack(t, "keygen", "-o", name); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("keygen over an existing key: %v", err)
	}
	if again, _ := os.ReadFile(name + ".key"); !bytes.Equal(again, priv) {
		t.Error("the existing key was overwritten")
	}
	if _, _, err := sealpack(t, "keygen", "-o", filepath.Join(dir, "ec"), "--type", "ecdsa-p256", "--no-passphrase"); err != nil {
		t.Fatal(err)
	}
	if k, err := signature.LoadPrivateKey(filepath.Join(dir, "ec.key"), nil); err != nil || k.Public().Type() != signature.ECDSAP256 {
		t.Errorf("ec.key: %v", err)
	}
	if _, _, err := sealpack(t, "keygen", "-o", filepath.Join(dir, "r"), "--type", "rsa"); err == nil {
		t.Error("keygen --type rsa made a key")
	}
}

// TestBuildSignReproducible: build --sign-key signs in the build, and two
// builds of the same inputs with the same key are byte-identical, for both
// key types; the installer verifies with the public key and names the
// signer. An encrypted key opens with its passphrase only, before the build.
func TestBuildSignReproducible(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	for _, typ := range signature.KeyTypes {
		t.Run(string(typ), func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv(signature.PassphraseEnv, "s3cret "+string(typ))
			key := keygen(t, dir, "acme", typ)
			a, _ := buildInstaller(t, "linux/amd64", "--sign-key", key)
			b, _ := buildInstaller(t, "linux/amd64", "--sign-key", key)
			ab, _ := os.ReadFile(a)
			bb, _ := os.ReadFile(b)
			if !bytes.Equal(ab, bb) {
				t.Fatal("two signed builds of the same inputs differ")
			}
			pub := mustPub(t, filepath.Join(dir, "acme.pub"))
			stdout, stderr, err := installer(t, a, "verify", "--key", filepath.Join(dir, "acme.pub"))
			if err != nil || !strings.Contains(stdout, "signed by acme ("+pub.ID()+"), checked with") {
				t.Errorf("verify --key: %v\n%s%s", err, stdout, stderr)
			}
			if out, _, _ := sealpack(t, "inspect", a); !strings.Contains(out, "signed by acme ("+pub.ID()+"), not checked") {
				t.Errorf("sealpack inspect:\n%s", out)
			}
			t.Setenv(signature.PassphraseEnv, "wrong")
			out := filepath.Join(t.TempDir(), "x.run")
			if _, _, err := sealpack(t, "build", "-q", "--sign-key", key, "-o", out, t.TempDir()); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
				t.Errorf("build with a wrong passphrase: %v", err)
			}
		})
	}
}

// TestBuildSignOutput: the build says who signed and what signing cost.
func TestBuildSignOutput(t *testing.T) {
	dir, err := stubsOnce()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(stubDirEnv, dir)
	keys := t.TempDir()
	key := keygen(t, keys, "acme", signature.Ed25519)
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Kubefile"), []byte("FROM scratch\nLABEL org.opencontainers.image.title=t\n"), 0o644)
	out := filepath.Join(t.TempDir(), "app.run")
	stdout, stderr, err := sealpack(t, "build", "-q", "--sign-key", key, "--signer", "ACME Corp", "-o", out, ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	id := mustPub(t, filepath.Join(keys, "acme.pub")).ID()
	if !regexp.MustCompile(`\n  signed by ACME Corp \(` + regexp.QuoteMeta(id) + `\) in [0-9.]+[µm]?s\n`).MatchString(stdout) {
		t.Errorf("build output:\n%s", stdout)
	}
}

// TestSignCommand: sign adds a signature to an installer built unsigned
// (split here: its parts are not touched) and replaces it with another
// key's; a damaged installer is not signed.
func TestSignCommand(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	keys := t.TempDir()
	acme := keygen(t, keys, "acme", signature.Ed25519)
	other := keygen(t, keys, "other", signature.ECDSAP256)
	out, _ := buildInstaller(t, "linux/amd64", "--split-size", "3M")
	parts, _ := filepath.Glob(out + ".*")
	if len(parts) < 2 {
		t.Fatalf("parts %v", parts)
	}
	before := map[string][]byte{}
	for _, p := range parts {
		before[p], _ = os.ReadFile(p)
	}
	for _, tc := range []struct{ key, pub, wrong string }{{acme, "acme.pub", "other.pub"}, {other, "other.pub", "acme.pub"}} {
		stdout, stderr, err := sealpack(t, "sign", out, "--key", tc.key)
		if err != nil || !strings.Contains(stdout, out+": signed by "+strings.TrimSuffix(tc.pub, ".pub")) {
			t.Fatalf("sign: %v\n%s%s", err, stdout, stderr)
		}
		if so, se, err := installer(t, out, "verify", "--key", filepath.Join(keys, tc.pub)); err != nil {
			t.Errorf("verify --key %s: %v\n%s%s", tc.pub, err, so, se)
		}
		if _, se, err := installer(t, out, "verify", "--key", filepath.Join(keys, tc.wrong)); err == nil || !strings.Contains(se, "signed by another key") {
			t.Errorf("verify --key %s after signing with %s: %v\n%s", tc.wrong, tc.key, err, se)
		}
	}
	for p, b := range before {
		if now, _ := os.ReadFile(p); !bytes.Equal(now, b) {
			t.Errorf("%s changed", p)
		}
	}
	// A flipped byte in a part: the installer is damaged, sign refuses.
	b := bytes.Clone(before[parts[0]])
	b[len(b)/2] ^= 1
	os.WriteFile(parts[0], b, 0o644)
	main, _ := os.ReadFile(out)
	if _, _, err := sealpack(t, "sign", out, "--key", acme); err == nil || !strings.Contains(err.Error(), "damaged, so it was not signed") {
		t.Errorf("sign of a damaged installer: %v", err)
	}
	if now, _ := os.ReadFile(out); !bytes.Equal(now, main) {
		t.Error("a damaged installer was changed")
	}
	if _, _, err := sealpack(t, "sign", out, "--key", filepath.Join(keys, "acme.pub")); err == nil || !strings.Contains(err.Error(), "a public key: signing needs the private key") {
		t.Errorf("sign with a public key: %v", err)
	}
}

// readmeBlock is the README's shell block that checks a signature with
// standard tools, and the commands quoted inline after it.
func readmeCheck(t *testing.T) (block, dgst, keyID string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sh\n([^`]*openssl pkeyutl -verify[^`]*)```").FindSubmatch(b)
	d := regexp.MustCompile("`(openssl dgst -sha256 -verify [^`]+)`").FindSubmatch(b)
	k := regexp.MustCompile("`(openssl pkey -pubin -in acme.pub [^`]+)`").FindSubmatch(b)
	if m == nil || d == nil || k == nil {
		t.Fatal("the README no longer shows how to check a signature with openssl")
	}
	return string(m[1]), string(d[1]), string(k[1])
}

// TestREADMESignatureCheck runs the README's check of a signature with
// standard tools (bash, jq, base64, od, sha256sum, openssl), as written, on
// a signed installer of each key type: openssl verifies the signature, the
// statement's subject is the index's sha256 computed from the file, the
// key id command gives the key's id; with another vendor's key the check
// fails.
func TestREADMESignatureCheck(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 installer")
	}
	for _, tool := range []string{"bash", "openssl", "jq", "base64", "od", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			testreq.Skip(t, "the README's signature check with standard tools", "needs "+tool+" (make deps as root installs openssl and jq)")
		}
	}
	block, dgst, keyID := readmeCheck(t)
	for _, typ := range signature.KeyTypes {
		t.Run(string(typ), func(t *testing.T) {
			keys := t.TempDir()
			key := keygen(t, keys, "acme", typ)
			keygen(t, keys, "mallory", typ)
			out, _ := buildInstaller(t, "linux/amd64", "--sign-key", key)
			r, err := payload.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			index := strings.TrimPrefix(r.Digest(), "sha256:")
			r.Close()
			site := t.TempDir()
			os.Symlink(out, filepath.Join(site, "app-installer.run"))
			pub, _ := os.ReadFile(filepath.Join(keys, "acme.pub"))
			os.WriteFile(filepath.Join(site, "acme.pub"), pub, 0o644)
			run := func(script string) (string, error) {
				cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
				cmd.Dir = site
				b, err := cmd.CombinedOutput()
				return string(b), err
			}
			got, err := run(block)
			if err != nil {
				t.Fatalf("the README's commands fail: %v\n%s", err, got)
			}
			if !strings.Contains(got, "Signature Verified Successfully\n") || strings.Count(got, index) != 2 || !strings.Contains(got, index+"  -\n") {
				t.Errorf("the README's commands print (want the signature verified and the index %s twice):\n%s", index, got)
			}
			if typ == signature.ECDSAP256 {
				if got, err := run(dgst); err != nil || !strings.Contains(got, "Verified OK") {
					t.Errorf("%s: %v\n%s", dgst, err, got)
				}
			}
			if got, err := run(keyID); err != nil || strings.TrimSpace(got) != strings.TrimPrefix(mustPub(t, filepath.Join(keys, "acme.pub")).ID(), "SHA256:") {
				t.Errorf("%s: %v %q", keyID, err, got)
			}
			other, _ := os.ReadFile(filepath.Join(keys, "mallory.pub"))
			os.WriteFile(filepath.Join(site, "acme.pub"), other, 0o644)
			if got, err := run(block); err == nil || strings.Contains(got, "Signature Verified Successfully") {
				t.Errorf("with another vendor's key the README's check passes:\n%s", got)
			}
		})
	}
}

// TestPassphrasePrompt: on a terminal, keygen asks for the passphrase
// twice and sign once, without echo: the passphrase never shows, and the
// key it wrote opens with it alone.
func TestPassphrasePrompt(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		testreq.Skip(t, "the passphrase prompt in a real terminal", "needs tmux (make deps as root installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sealpack")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const secret = "Tr0ub4dor-pass"
	sock := filepath.Join(dir, "tmux")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	screen := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", "w")
			if strings.Contains(s, want) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the terminal does not show %q:\n%s", want, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	script := "env -u " + signature.PassphraseEnv + " " + bin + " keygen -o " + filepath.Join(dir, "acme") + "; echo keygen-exit=$?; " +
		"env -u " + signature.PassphraseEnv + " " + bin + " sign " + filepath.Join(dir, "nothing.run") + " --key " + filepath.Join(dir, "acme.key") + "; echo sign-exit=$?; sleep 60"
	tmux("-f", "/dev/null", "new-session", "-d", "-s", "w", "-x", "120", "-y", "30", "sh", "-c", script)
	screen("Passphrase for the new key")
	tmux("send-keys", "-t", "w", "-l", secret)
	tmux("send-keys", "-t", "w", "Enter")
	screen("The same again")
	tmux("send-keys", "-t", "w", "-l", secret)
	tmux("send-keys", "-t", "w", "Enter")
	screen("keygen-exit=0")
	screen("Passphrase of " + filepath.Join(dir, "acme.key"))
	tmux("send-keys", "-t", "w", "-l", "not-"+secret)
	tmux("send-keys", "-t", "w", "Enter")
	s := screen("sign-exit=1")
	if !strings.Contains(s, "wrong passphrase") {
		t.Errorf("sign with a wrong passphrase does not say so:\n%s", s)
	}
	if strings.Contains(s, secret) {
		t.Errorf("the passphrase shows on the terminal:\n%s", s)
	}
	if _, err := signature.LoadPrivateKey(filepath.Join(dir, "acme.key"), func() ([]byte, error) { return []byte(secret), nil }); err != nil {
		t.Errorf("the key does not open with the passphrase typed: %v", err)
	}
}

// TestMergeSigned: merge --sign-key signs the merged installer; the
// inputs' signatures do not carry over (they sign other indexes).
func TestMergeSigned(t *testing.T) {
	fakeStubs(t)
	keys := t.TempDir()
	key := keygen(t, keys, "acme", signature.Ed25519)
	var ins []string
	for _, name := range []string{"a", "b"} {
		ctx := t.TempDir()
		os.WriteFile(filepath.Join(ctx, name+".txt"), []byte(name), 0o644)
		os.WriteFile(filepath.Join(ctx, "Kubefile"), []byte("FROM scratch\nCOPY "+name+".txt /\n"), 0o644)
		out := filepath.Join(t.TempDir(), name+".run")
		if _, stderr, err := sealpack(t, "build", "-q", "--platform", "linux/amd64", "--sign-key", key, "-o", out, ctx); err != nil {
			t.Fatalf("build: %v\n%s", err, stderr)
		}
		ins = append(ins, out)
	}
	out := filepath.Join(t.TempDir(), "c.run")
	if _, stderr, err := sealpack(t, "merge", "-q", ins[0], ins[1], "-o", out); err != nil {
		t.Fatalf("merge: %v\n%s", err, stderr)
	}
	r, err := payload.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signature.Check(r, mustPub(t, filepath.Join(keys, "acme.pub"))); err == nil {
		t.Error("a merge without --sign-key is signed")
	}
	r.Close()
	stdout, stderr, err := sealpack(t, "merge", "-q", "--sign-key", key, "--signer", "ACME Corp", ins[0], ins[1], "-o", out)
	if err != nil {
		t.Fatalf("merge --sign-key: %v\n%s", err, stderr)
	}
	if r, err = payload.Open(out); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	signed, err := signature.Check(r, mustPub(t, filepath.Join(keys, "acme.pub")))
	if err != nil {
		t.Fatalf("the merged installer's signature: %v\n%s", err, stdout)
	}
	if signed.Signer() != "ACME Corp" || !strings.Contains(stdout, "signed by ACME Corp") {
		t.Errorf("signer %q; merge said:\n%s", signed.Signer(), stdout)
	}
}
