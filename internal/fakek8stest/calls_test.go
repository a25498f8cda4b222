package fakek8stest

import (
	"os"
	"sort"
	"strings"
	"testing"
)

func TestCallsRecorded(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.40.1", "SEALPACK_ROLE=master", "SEALPACK_SSH_PASSWORD=hunter2", "UNRELATED=x")
	n1 := newHost(t, "node1", "127.0.40.2")
	init := initMaster(t, m0, "", "--upload-certs")
	key := certKeyRE.FindStringSubmatch(init.stdout)[1]
	w := joinWorkerRE.FindStringSubmatch(init.stdout)
	n1.mustRun("kubeadm", "join", w[1], "--token", w[2], "--discovery-token-ca-cert-hash", w[3], "--certificate-key="+key)
	m0.run(m0.admin(), "kubectl", "get", "nodes", "--frobnicate")
	m0.mustRun("kubeadm", "token", "create", "zzzzzz.ffffffffffffffff")

	calls := readCalls(t, m0)
	byLine := map[string]Call{}
	for _, c := range calls {
		byLine[c.Line()] = c
	}
	initCall, ok := byLine["kubeadm init --config "+m0.path("/root/kubeadm.yaml")+" --upload-certs"]
	if !ok || initCall.Exit == nil || *initCall.Exit != 0 || initCall.Host != "master0" || initCall.Cwd != m0.root {
		t.Fatalf("init call: %+v in %v", initCall, keys(byLine))
	}
	if initCall.Env["SEALPACK_ROLE"] != "master" || initCall.Env["SEALPACK_SSH_PASSWORD"] != "<redacted>" || initCall.Env["FAKEK8S_ROOT"] != m0.root {
		t.Errorf("init env: %v", initCall.Env)
	}
	if _, ok := initCall.Env["UNRELATED"]; ok {
		t.Errorf("unrelated variable recorded: %v", initCall.Env)
	}
	bad, ok := byLine["kubectl get nodes --frobnicate"]
	if !ok || *bad.Exit != 1 || bad.Env["KUBECONFIG"] != m0.path("/etc/kubernetes/admin.conf") {
		t.Errorf("failed kubectl call: %+v", bad)
	}
	if _, ok := byLine["kubeadm token create zzzzzz.<redacted>"]; !ok {
		t.Errorf("token create not recorded with its secret hidden: %v", keys(byLine))
	}
	var daemons []string
	for _, c := range calls {
		if c.Daemon {
			daemons = append(daemons, c.Command)
		}
	}
	sort.Strings(daemons)
	if strings.Join(daemons, ",") != "kube-apiserver,kubelet" {
		t.Errorf("daemon starts: %v", daemons)
	}

	var j Call
	for _, c := range readCalls(t, n1) {
		if c.Command == "kubeadm" {
			j = c
			break
		}
	}
	want := "kubeadm join " + w[1] + " --token " + w[2][:6] + ".<redacted> --discovery-token-ca-cert-hash " + w[3] + " --certificate-key=<redacted>"
	if j.Line() != want || j.Exit == nil || *j.Exit != 0 {
		t.Errorf("join call:\n got %s\nwant %s", j.Line(), want)
	}
	// No secret appears anywhere in either record.
	for _, h := range []*fakeHost{m0, n1} {
		raw, err := os.ReadFile(h.path(CallsFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{w[2][7:], key, "hunter2", "ffffffffffffffff"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%s: calls.jsonl contains a secret %q", h.name, secret)
			}
		}
	}
}

func TestInjectedFailure(t *testing.T) {
	h := newHost(t, "node1", "127.0.41.1", "FAKEK8S_FAIL=kubeadm join,kubectl apply")
	r := h.run("kubeadm", "join", "1.2.3.4:6443")
	if r.code != 1 || !strings.Contains(r.stderr, "failure injected by FAKEK8S_FAIL") {
		t.Fatalf("injected join failure: %s", r)
	}
	if r := h.run("kubelet", "--version"); r.code != 0 {
		t.Fatalf("an uninjected command failed: %s", r)
	}
	// The knob file under the root works like the environment.
	h2 := newHost(t, "node2", "127.0.41.2")
	h2.write("/etc/fakek8s/env", "# knobs\nFAKEK8S_FAIL=kubelet\n")
	if r := h2.run("kubelet", "--version"); r.code != 1 {
		t.Fatalf("knob file ignored: %s", r)
	}
	if calls := readCalls(t, h); len(calls) != 2 || *calls[0].Exit != 1 {
		t.Fatalf("calls: %+v", calls)
	}
}

func readCalls(t *testing.T, h *fakeHost) []Call {
	t.Helper()
	f, err := os.Open(h.path(CallsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calls, err := ParseCalls(f)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func keys(m map[string]Call) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
