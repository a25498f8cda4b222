package deployer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer"
)

// What a secret of kubeadm looks like on a command line: a bootstrap token
// (abcdef.0123456789abcdef) or a certificate key (64 hex digits).
var (
	tokenRE   = regexp.MustCompile(`\b[a-z0-9]{6}\.[a-z0-9]{16}\b`)
	certKeyRE = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
)

// hasCertKey reports 64 hex digits that are not a "sha256:" digest (file
// checksums and the CA's public key hash are no secrets).
func hasCertKey(s string) bool {
	for _, m := range certKeyRE.FindAllStringIndex(s, -1) {
		if !strings.HasSuffix(s[:m[0]], "sha256:") {
			return true
		}
	}
	return false
}

const sudoPassword = "Sudo-pw-7f3a"

// heldKubeadm is the kubeadm command TestHAByKeyAsSudoUser holds on host i
// while it reads the host's command lines.
func heldKubeadm(i int) string {
	if i == 0 {
		return "kubeadm init"
	}
	return "kubeadm join"
}

// TestHAByKeyAsSudoUser installs 3 masters and a node, logging in by private
// key as a user who needs a password for sudo. The control-plane joins use
// the shared certificates, and no password, token or certificate key is ever
// on a command line (ps on every host while its kubeadm init or join runs,
// held there, and sampled all along), in the fake's records or in sshd's
// logs.
func TestHAByKeyAsSudoUser(t *testing.T) {
	s := newSite(t, 4)
	ctx := context.Background()
	key, pub := newKeyFile(t, t.TempDir())
	for _, h := range s.w.Hosts {
		if err := h.AddUser(ctx, "deploy", sudoPassword, true, true); err != nil {
			t.Fatal(err)
		}
		if err := h.AuthorizeKey(ctx, "deploy", pub); err != nil {
			t.Fatal(err)
		}
	}
	c := s.cluster(`apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: ha}
spec:
  ssh: {user: deploy, pk: ` + key + `, sudoPasswd: ` + sudoPassword + `}
  hosts:
  - ips: [{{0}}, {{1}}, {{2}}]
    roles: [master]
  - ips: [{{3}}]
    roles: [node]
`)
	// kubeadm init on master0 and kubeadm join on the others wait at a gate
	// until every command line of their host has been read: the secrets
	// they are given (a token, a certificate key, and sudo's password to run
	// them) are in use then, whatever the load. The sampler reads them all
	// along besides, as other commands run.
	samplers := make([]*procSampler, len(s.w.Hosts))
	held := make([]*heldCommand, len(s.w.Hosts))
	for i, h := range s.w.Hosts {
		held[i] = holdWhileRead(t, h, heldKubeadm(i))
		samplers[i] = sampleProcs(h)
	}
	err := deployer.Apply(ctx, c, s.opts())
	seen := make([][]string, len(s.w.Hosts))
	var heldErrs []error
	for i, h := range s.w.Hosts {
		seen[i] = samplers[i].stop(h)
		line, lines, herr := held[i].result()
		if herr != nil {
			heldErrs = append(heldErrs, herr)
			continue
		}
		if want := heldKubeadm(i) + " --config "; !strings.HasPrefix(line, want) {
			t.Errorf("host %d: %q was held, want %s<file>", i, line, want)
		}
		sudo := false
		for _, l := range lines {
			sudo = sudo || strings.HasPrefix(l, "sudo -H -S ")
		}
		if !sudo {
			t.Errorf("host %d: no sudo -S among the command lines read while %q ran, which sudo started: they prove nothing\n%s", i, line, strings.Join(lines, "\n"))
		}
		t.Logf("host %d: %d command lines read while %q was held", i, len(lines), line)
		seen[i] = append(seen[i], lines...)
	}
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	for _, herr := range heldErrs {
		t.Errorf("%v: the command lines prove nothing", herr)
	}

	if n := s.count(0, "kubeadm", "init"); n != 1 {
		t.Errorf("kubeadm init ran %d times on master0, want 1", n)
	}
	// Everything ran as root through sudo, on behalf of the login user.
	for i := range s.w.Hosts {
		for _, call := range s.allCalls(i) {
			if !call.Daemon && call.Env["SUDO_USER"] != "deploy" {
				t.Errorf("host %d: %q ran with SUDO_USER=%q, want deploy", i, call.Line(), call.Env["SUDO_USER"])
			}
		}
	}
	nodes := s.nodes(0)
	for i, h := range s.w.Hosts {
		if i > 0 {
			if n := s.count(i, "kubeadm", "join"); n != 1 {
				t.Errorf("host %d: kubeadm join ran %d times, want 1", i, n)
			}
		}
		n, ok := nodes[h.IP]
		if !ok {
			t.Errorf("host %d (%s) is not a node of the cluster", i, h.IP)
			continue
		}
		_, cp := n.Metadata.Labels["node-role.kubernetes.io/control-plane"]
		if want := i < 3; cp != want {
			t.Errorf("host %d: control-plane label %v, want %v", i, cp, want)
		}
	}
	// The other masters joined as control planes: they got the shared
	// certificates from the kubeadm-certs Secret (decrypted with the
	// certificate key) and run their own apiserver.
	for i := 1; i < 3; i++ {
		apiserver := false
		for _, call := range s.allCalls(i) {
			apiserver = apiserver || call.Command == "kube-apiserver" && call.Daemon
		}
		if !apiserver {
			t.Errorf("master %d runs no kube-apiserver: it did not join as a control plane", i)
		}
		ca0, _ := s.w.Hosts[0].Exec(ctx, "cat /etc/kubernetes/pki/ca.key")
		cai, _ := s.w.Hosts[i].Exec(ctx, "cat /etc/kubernetes/pki/ca.key")
		if len(ca0) == 0 || !bytes.Equal(ca0, cai) {
			t.Errorf("master %d does not hold master0's cluster CA key: the control-plane certificates were not shared", i)
		}
	}
	if _, ok := nodes[s.w.Hosts[3].IP].Metadata.Labels["node-role.kubernetes.io/control-plane"]; ok {
		t.Error("the node joined as a control plane")
	}

	// No secret on any command line, in any record, in any log.
	secrets := []string{sudoPassword}
	keyPEM, _ := os.ReadFile(key)
	for i, h := range s.w.Hosts {
		for _, line := range seen[i] {
			for _, sec := range secrets {
				if strings.Contains(line, sec) {
					t.Errorf("host %d: the sudo password is on a command line: %q", i, line)
				}
			}
			if m := tokenRE.FindString(line); m != "" {
				t.Errorf("host %d: a bootstrap token is on a command line: %q", i, line)
			}
			if hasCertKey(line) {
				t.Errorf("host %d: a certificate key is on a command line: %q", i, line)
			}
		}
		raw := s.calls(i)
		sshd, _ := h.SSHDLog()
		for what, text := range map[string]string{"calls.jsonl": raw, "sshd log": sshd} {
			if strings.Contains(text, sudoPassword) {
				t.Errorf("host %d: the sudo password is in the %s", i, what)
			}
		}
		if strings.Contains(raw, "--token") || strings.Contains(raw, "--certificate-key") {
			t.Errorf("host %d: a join secret was given as a flag:\n%s", i, raw)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(s.dir, ".sealpack", "logs", "*.log"))
	s.keep()
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if bytes.Contains(b, []byte(sudoPassword)) || bytes.Contains(b, bytes.TrimSpace(keyPEM)) ||
			tokenRE.Match(b) || hasCertKey(string(b)) {
			t.Errorf("%s holds a secret: %q %q", l, tokenRE.Find(b), certKeyRE.Find(b))
		}
	}
}
