package fakek8stest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	joinWorkerRE = regexp.MustCompile(`(?m)^kubeadm join (\S+) --token ([a-z0-9]{6}\.[a-z0-9]{16}) \\\n\t--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64}) $`)
	certKeyRE    = regexp.MustCompile(`\[upload-certs\] Using certificate key:\n([0-9a-f]{64})\n`)
	printJoinRE  = regexp.MustCompile(`^kubeadm join (\S+) --token ([a-z0-9]{6}\.[a-z0-9]{16}) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64}) \n$`)
	hex64RE      = regexp.MustCompile(`^[0-9a-f]{64}\n$`)
)

// initMaster runs kubeadm init on h and returns its output.
func initMaster(t *testing.T, h *fakeHost, clusterExtra string, flags ...string) result {
	t.Helper()
	cfg := h.initConfig(clusterExtra)
	return h.mustRun(append([]string{"kubeadm", "init", "--config", cfg}, flags...)...)
}

func TestInitValidatesConfig(t *testing.T) {
	h := newHost(t, "master0", "127.0.10.1")
	cases := []struct {
		name, config string
		code         int
		want         string
	}{
		{"bad pod subnet", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.244.0.0/33\n",
			3, `networking.podSubnet: Invalid value: "10.244.0.0/33": couldn't parse subnet`},
		{"bad kubernetes version", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: one.two\n",
			1, `version "one.two" doesn't match patterns for neither semantic version nor labels`},
		{"too old kubernetes version", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.27.0\n",
			1, "only supports deploying clusters with the control plane version >= 1.29.0"},
		{"unknown kubeadm kind", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: MasterConfiguration\n",
			1, `no kind "MasterConfiguration" is registered for version "kubeadm.k8s.io/v1beta3"`},
		{"unknown kubeadm version", "apiVersion: kubeadm.k8s.io/v1beta9\nkind: InitConfiguration\n",
			1, `no kind "InitConfiguration" is registered for version "kubeadm.k8s.io/v1beta9"`},
		{"old kubeadm API", "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n",
			1, `your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2"`},
		{"wrong kubelet config version", "apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n",
			1, `no kind "KubeletConfiguration" is registered for version "kubelet.config.k8s.io/v1"`},
		{"missing kind", "apiVersion: kubeadm.k8s.io/v1beta3\n", 1, "Object 'Kind' is missing"},
		{"twice", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n",
			1, "is specified twice in YAML"},
		{"bad token", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: Short.Token\n",
			3, `bootstrapTokens[0].token: Invalid value: "Short.Token": the bootstrap token is invalid`},
		{"bad advertise address", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.300\n",
			3, `localAPIEndpoint.advertiseAddress: Invalid value: "10.0.0.300"`},
		{"port as string", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nlocalAPIEndpoint:\n  bindPort: \"6443\"\n",
			1, "cannot unmarshal string"},
		{"bad certificate key", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\ncertificateKey: abc\n",
			3, `certificateKey: Invalid value: "abc"`},
		{"bad certSAN", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  certSANs: [\"not a name\"]\n",
			3, `apiServer.certSANs[0]: Invalid value: "not a name": altname is not a valid IP address`},
		{"bad taint effect", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  taints: [{key: a, effect: Sometimes}]\n",
			3, `nodeRegistration.taints[0].effect: Unsupported value: "Sometimes"`},
		{"two errors at once", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: x\n  serviceSubnet: 10.0.0.0/8\n",
			3, `[networking.podSubnet: Invalid value: "x": couldn't parse subnet, networking.serviceSubnet: Invalid value: "10.0.0.0/8": specified service subnet is too large`},
		{"unknown feature gate", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nfeatureGates: {TimeTravel: true}\n",
			3, "TimeTravel is not a valid feature name."},
		{"malformed YAML", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: [\n", 1, "document 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := h.write("/root/bad.yaml", tc.config)
			r := h.run("kubeadm", "init", "--config", cfg)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit %d and %q, got %s", tc.code, tc.want, r)
			}
			if !strings.Contains(r.stderr, "To see the stack trace of this error execute with --v=5 or higher") {
				t.Errorf("stderr lacks kubeadm's trailer: %s", r.stderr)
			}
			if h.exists("/etc/kubernetes/admin.conf") || h.exists("/etc/kubernetes/pki/ca.crt") {
				t.Fatal("a rejected config wrote files")
			}
		})
	}
}

func TestConfigWarningsAndValidate(t *testing.T) {
	h := newHost(t, "master0", "127.0.11.1")
	cfg := h.write("/root/warn.yaml", `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.30.4
networkin: {}
---
apiVersion: sealer.cloud/v2
kind: Cluster
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
  - name: node-ip
    value: 127.0.11.1
`)
	r := h.mustRun("kubeadm", "config", "validate", "--config", cfg)
	if r.stdout != "ok\n" || !strings.Contains(r.stderr, `strict decoding error: unknown field "networkin"`) ||
		!strings.Contains(r.stderr, "Ignored YAML document with GroupVersionKind sealer.cloud/v2, Kind=Cluster") {
		t.Fatalf("want ok with two warnings: %s", r)
	}
	r = h.mustRun("kubeadm", "config", "images", "list", "--config", cfg)
	if !strings.Contains(r.stdout, "registry.k8s.io/kube-apiserver:v1.30.4\n") || !strings.Contains(r.stdout, "registry.k8s.io/pause:3.9\n") {
		t.Fatalf("images list: %s", r)
	}
}

func TestInitRefusesSecondRun(t *testing.T) {
	h := newHost(t, "master0", "127.0.12.1")
	first := initMaster(t, h, "", "--upload-certs")
	for _, f := range []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt",
		"/etc/kubernetes/pki/ca.key", "/etc/kubernetes/pki/apiserver.crt", "/etc/kubernetes/pki/sa.pub",
		"/etc/kubernetes/manifests/kube-apiserver.yaml", "/etc/kubernetes/manifests/etcd.yaml", "/var/lib/kubelet/config.yaml"} {
		if !h.exists(f) {
			t.Errorf("init did not write %s", f)
		}
	}
	admin, err := os.ReadFile(h.path("/etc/kubernetes/admin.conf"))
	if err != nil || !strings.Contains(string(admin), "server: https://"+h.ip+":") {
		t.Errorf("admin.conf does not point at the advertise address: %s", admin)
	}
	m := joinWorkerRE.FindStringSubmatch(first.stdout)
	if m == nil || m[1] != h.endpoint() || m[2] != "abcdef.0123456789abcdef" {
		t.Fatalf("no worker join command for %s in:\n%s", h.endpoint(), first.stdout)
	}
	if certKeyRE.FindStringSubmatch(first.stdout) == nil {
		t.Fatalf("no certificate key in:\n%s", first.stdout)
	}
	// Without controlPlaneEndpoint kubeadm offers no control-plane join.
	if strings.Contains(first.stdout, "--control-plane") {
		t.Errorf("control-plane join offered without controlPlaneEndpoint:\n%s", first.stdout)
	}

	second := h.run("kubeadm", "init", "--config", h.path("/root/kubeadm.yaml"))
	if second.code != 1 ||
		!strings.Contains(second.stderr, "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists") ||
		!strings.Contains(second.stderr, "[ERROR Port-") {
		t.Fatalf("second init: %s", second)
	}
	// The refused run changed nothing: the cluster still answers.
	if _, nodes := h.nodes(h.admin()); nodes["master0"].ready() != "True" {
		t.Fatalf("master0 not Ready after a refused second init: %+v", nodes)
	}
}

func TestInitGolden(t *testing.T) {
	h := newHost(t, "master0", "127.0.13.1")
	r := initMaster(t, h, "controlPlaneEndpoint: "+h.ip+"\n", "--upload-certs")
	got := r.stdout
	for _, re := range []struct{ re, repl string }{
		{`sha256:[0-9a-f]{64}`, "sha256:HASH"},
		{`\b[0-9a-f]{64}\b`, "CERTKEY"},
		{`healthy after [0-9.]+ seconds`, "healthy after N seconds"},
		{regexp.QuoteMeta(h.ip), "IP"},
		{`:\d{4,5}\b`, ":PORT"},
	} {
		got = regexp.MustCompile(re.re).ReplaceAllString(got, re.repl)
	}
	golden := filepath.Join("testdata", "init-upload-certs.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("init output differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, got)
	}
}

func TestPreflight(t *testing.T) {
	h := newHost(t, "master0", "127.0.14.1")
	h.write("/proc/sys/net/ipv4/ip_forward", "0\n")
	if err := os.Remove(h.path("/var/run/containerd/containerd.sock")); err != nil {
		t.Fatal(err)
	}
	cfg := h.initConfig("")
	r := h.run("kubeadm", "init", "--config", cfg)
	if r.code != 1 || !strings.Contains(r.stderr, "[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1") ||
		!strings.Contains(r.stderr, "[ERROR CRI]: container runtime is not running") {
		t.Fatalf("preflight: %s", r)
	}
	if h.exists("/etc/kubernetes/pki/ca.crt") {
		t.Fatal("a failed preflight wrote certificates")
	}
	// Ignored checks become warnings and init goes on.
	r = h.mustRun("kubeadm", "init", "--config", cfg, "--ignore-preflight-errors=CRI,FileContent--proc-sys-net-ipv4-ip_forward")
	if !strings.Contains(r.stderr, "[WARNING CRI]") {
		t.Fatalf("ignored check not warned: %s", r)
	}
}

func TestJoinValidatesFormats(t *testing.T) {
	h := newHost(t, "node1", "127.0.15.2")
	good := "sha256:" + strings.Repeat("ab", 32)
	cfg := h.write("/root/join.yaml", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 127.0.0.1:1\n    caCertHashes: [\""+good+"\"]\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad token", []string{"127.0.0.1:1", "--token", "abc.def", "--discovery-token-ca-cert-hash", good},
			3, `discovery.bootstrapToken.token: Invalid value: "abc.def": the bootstrap token is invalid`},
		{"upper-case token", []string{"127.0.0.1:1", "--token", "ABCDEF.0123456789abcdef", "--discovery-token-ca-cert-hash", good},
			3, "the bootstrap token is invalid"},
		{"short hash", []string{"127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", "sha256:abcd"},
			3, "expected a 32 byte SHA-256 hash, found 2 bytes"},
		{"hash not hex", []string{"127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", "sha256:" + strings.Repeat("zz", 32)},
			3, "could not decode SHA-256 from hex"},
		{"hash format", []string{"127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", "md5:abcd"},
			3, `unknown hash format "md5"`},
		{"hash without format", []string{"127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", strings.Repeat("ab", 32)},
			3, `invalid hash, expected "format:hex-value"`},
		{"no hash", []string{"127.0.0.1:1", "--token", "abcdef.0123456789abcdef"},
			3, "using token-based discovery without caCertHashes can be unsafe"},
		{"no endpoint", []string{"--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", good},
			3, "APIServerEndpoint is not set"},
		{"endpoint without port", []string{"127.0.0.1", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", good},
			3, "missing port in address"},
		{"bad certificate key", []string{"127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", good, "--control-plane", "--certificate-key", "xyz"},
			3, `controlPlane.certificateKey: Invalid value: "xyz"`},
		{"config mixed with flags", []string{"--config", cfg, "--token", "abcdef.0123456789abcdef"},
			1, "can not mix '--config' with arguments [token]"},
		{"two endpoints", []string{"127.0.0.1:1", "127.0.0.2:1"}, 1, "accepts at most 1 arg(s)"},
		{"unknown flag", []string{"--tokn", "x"}, 1, "unknown flag: --tokn"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(append([]string{"kubeadm", "join"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit %d and %q, got %s", tc.code, tc.want, r)
			}
		})
	}
	if h.exists("/etc/kubernetes/kubelet.conf") {
		t.Fatal("a rejected join wrote kubelet.conf")
	}
}

func TestJoinRegistersOverTCP(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.16.1")
	n1 := newHost(t, "node1", "127.0.16.2")
	n2 := newHost(t, "node2", "127.0.16.3", "FAKEK8S_DISCOVERY_TIMEOUT=1s")
	initMaster(t, m0, "")
	tok := m0.mustRun("kubeadm", "token", "create", "--print-join-command")
	m := printJoinRE.FindStringSubmatch(tok.stdout)
	if m == nil || m[1] != m0.endpoint() {
		t.Fatalf("token create --print-join-command: %q", tok.stdout)
	}
	join := strings.Fields(tok.stdout)

	// A wrong pin, a token the cluster does not know, and nothing listening
	// all fail, and nothing is written.
	wrongPin := append(append([]string{}, join[:len(join)-1]...), "sha256:"+strings.Repeat("0", 64))
	r := n2.run(wrongPin...)
	if r.code != 1 || !strings.Contains(r.stderr, "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \""+m[3]+"\" are pinned") {
		t.Fatalf("wrong pin: %s", r)
	}
	r = n2.run("kubeadm", "join", m0.endpoint(), "--token", "zzzzzz.0123456789abcdef", "--discovery-token-ca-cert-hash", m[3])
	if r.code != 1 || !strings.Contains(r.stderr, `could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"`) {
		t.Fatalf("unknown token: %s", r)
	}
	r = n2.run("kubeadm", "join", m0.endpoint(), "--token", m[2][:7]+strings.Repeat("0", 16), "--discovery-token-ca-cert-hash", m[3])
	if r.code != 1 || !strings.Contains(r.stderr, "failed to verify JWS signature of received cluster info object") {
		t.Fatalf("wrong token secret: %s", r)
	}
	closed := "127.0.16.1:" + strconv.Itoa(freePort(t, "127.0.16.1"))
	r = n2.run("kubeadm", "join", closed, "--token", m[2], "--discovery-token-ca-cert-hash", m[3])
	if r.code != 1 || !strings.Contains(r.stderr, "couldn't validate the identity of the API Server") || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("join to a closed port: %s", r)
	}
	if n2.exists("/etc/kubernetes/kubelet.conf") {
		t.Fatal("failed joins wrote kubelet.conf")
	}

	out := n1.mustRun(join...)
	if !strings.Contains(out.stdout, "This node has joined the cluster") {
		t.Fatalf("join output: %s", out)
	}
	kubeletConf, err := os.ReadFile(n1.path("/etc/kubernetes/kubelet.conf"))
	if err != nil || !strings.Contains(string(kubeletConf), "server: https://"+m0.endpoint()) || !strings.Contains(string(kubeletConf), "client-certificate-data") {
		t.Fatalf("kubelet.conf: %v\n%s", err, kubeletConf)
	}
	kind, nodes := m0.nodes(m0.admin())
	if kind != "v1/List" || len(nodes) != 2 {
		t.Fatalf("want a List of 2 nodes, got %s %v", kind, nodes)
	}
	for _, want := range []struct{ name, ip string }{{"master0", m0.ip}, {"node1", n1.ip}} {
		n := nodes[want.name]
		if n.ready() != "True" || n.address("InternalIP") != want.ip || n.address("Hostname") != want.name || n.Status.NodeInfo.KubeletVersion != DefaultVersion {
			t.Errorf("node %s: %+v", want.name, n)
		}
	}
	if _, ok := nodes["master0"].Metadata.Labels["node-role.kubernetes.io/control-plane"]; !ok {
		t.Error("master0 lacks the control-plane label")
	}
	if _, ok := nodes["node1"].Metadata.Labels["node-role.kubernetes.io/control-plane"]; ok {
		t.Error("node1 has the control-plane label")
	}
	if len(nodes["master0"].Spec.Taints) != 1 || nodes["master0"].Spec.Taints[0].Key != "node-role.kubernetes.io/control-plane" {
		t.Errorf("master0 taints: %+v", nodes["master0"].Spec.Taints)
	}
	if nodes["master0"].Spec.PodCIDR == "" || nodes["master0"].Spec.PodCIDR == nodes["node1"].Spec.PodCIDR {
		t.Errorf("pod CIDRs: %q %q", nodes["master0"].Spec.PodCIDR, nodes["node1"].Spec.PodCIDR)
	}

	// A second join is refused by preflight.
	again := n1.run(join...)
	if again.code != 1 || !strings.Contains(again.stderr, "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists") {
		t.Fatalf("second join: %s", again)
	}
	// Another host with the name of a Ready node is refused.
	dup := newHost(t, "node1", "127.0.16.4")
	r = dup.run(join...)
	if r.code != 1 || !strings.Contains(r.stderr, `a Node with name "node1" and status "Ready" already exists in the cluster`) {
		t.Fatalf("duplicate node name: %s", r)
	}
}

func TestJoinWithConfigLabelsAndTaints(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.17.1")
	n1 := newHost(t, "node1", "127.0.17.2")
	n2 := newHost(t, "node2", "127.0.17.3")
	init := initMaster(t, m0, "")
	m := joinWorkerRE.FindStringSubmatch(init.stdout)
	joinCfg := func(h *fakeHost, labels string) string {
		return h.write("/root/join.yaml", `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    token: `+m[2]+`
    apiServerEndpoint: `+m[1]+`
    caCertHashes: ["`+m[3]+`"]
nodeRegistration:
  taints:
  - {key: dedicated, value: db, effect: NoSchedule}
  kubeletExtraArgs:
  - {name: node-labels, value: "`+labels+`"}
`)
	}
	n1.mustRun("kubeadm", "join", "--config", joinCfg(n1, "disk=ssd,node.kubernetes.io/pool=db"))
	_, nodes := m0.nodes(m0.admin())
	n := nodes["node1"]
	if n.Metadata.Labels["disk"] != "ssd" || n.Metadata.Labels["node.kubernetes.io/pool"] != "db" {
		t.Errorf("labels: %v", n.Metadata.Labels)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" || n.Spec.Taints[0].Value != "db" || n.Spec.Taints[0].Effect != "NoSchedule" {
		t.Errorf("taints: %+v", n.Spec.Taints)
	}
	// The kubelet refuses labels in the kubernetes.io namespace.
	r := n2.run("kubeadm", "join", "--config", joinCfg(n2, "node-role.kubernetes.io/db="))
	if r.code == 0 || !strings.Contains(r.stderr, "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-role.kubernetes.io/db]") {
		t.Fatalf("forbidden node label: %s", r)
	}
}

func TestControlPlaneJoin(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.18.1")
	m1 := newHost(t, "master1", "127.0.18.2")
	m2 := newHost(t, "master2", "127.0.18.3")
	init := initMaster(t, m0, "controlPlaneEndpoint: "+m0.endpoint()+"\n", "--upload-certs")
	key := certKeyRE.FindStringSubmatch(init.stdout)[1]
	w := joinWorkerRE.FindStringSubmatch(init.stdout)
	if !strings.Contains(init.stdout, "--control-plane --certificate-key "+key) {
		t.Fatalf("no control-plane join command:\n%s", init.stdout)
	}
	base := []string{"kubeadm", "join", w[1], "--token", w[2], "--discovery-token-ca-cert-hash", w[3], "--control-plane"}

	r := m1.run(append(base, "--certificate-key", strings.Repeat("ab", 32), "--apiserver-advertise-address", m1.ip)...)
	if r.code != 1 || !strings.Contains(r.stderr, "error decoding secret data with provided key: cipher: message authentication failed") {
		t.Fatalf("wrong certificate key: %s", r)
	}
	if m1.exists("/etc/kubernetes/pki/ca.key") {
		t.Fatal("a wrong key wrote certificates")
	}
	r = m1.run(append(base, "--apiserver-advertise-address", m1.ip)...)
	if r.code != 1 || !strings.Contains(r.stderr, "failure loading certificate for CA") {
		t.Fatalf("no certificate key and no certificates: %s", r)
	}

	m1.mustRun(append(base, "--certificate-key", key, "--apiserver-advertise-address", m1.ip)...)
	if !portOpen(m1.endpoint()) {
		t.Fatal("master1 runs no apiserver")
	}
	// master1's apiserver forwards to the cluster: kubectl through it sees
	// every node, with master1's own credentials.
	_, nodes := m1.nodes(m1.admin() + "")
	if len(nodes) != 2 || nodes["master1"].ready() != "True" || nodes["master1"].address("InternalIP") != m1.ip {
		t.Fatalf("nodes via master1: %+v", nodes)
	}
	via := m1.mustRun(m1.admin(), "kubectl", "--server", "https://"+m1.endpoint(), "get", "nodes", "-o", "name")
	if via.stdout != "node/master0\nnode/master1\n" {
		t.Fatalf("through master1's apiserver: %s", via)
	}
	if _, ok := nodes["master1"].Metadata.Labels["node-role.kubernetes.io/control-plane"]; !ok {
		t.Error("master1 is not marked control-plane")
	}
	// kubeadm init phase upload-certs makes a new key; the old one no
	// longer opens the Secret.
	up := m0.mustRun("kubeadm", "init", "phase", "upload-certs", "--upload-certs")
	newKey := certKeyRE.FindStringSubmatch(up.stdout)
	if newKey == nil || newKey[1] == key {
		t.Fatalf("upload-certs: %s", up)
	}
	r = m2.run(append(base, "--certificate-key", key, "--apiserver-advertise-address", m2.ip)...)
	if r.code != 1 || !strings.Contains(r.stderr, "message authentication failed") {
		t.Fatalf("old key after re-upload: %s", r)
	}
	m2.mustRun(append(base, "--certificate-key", newKey[1], "--apiserver-advertise-address", m2.ip)...)
	if _, nodes := m0.nodes(m0.admin()); len(nodes) != 3 {
		t.Fatalf("want 3 nodes: %v", nodes)
	}
}

func TestControlPlaneJoinNeedsEndpoint(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.19.1")
	m1 := newHost(t, "master1", "127.0.19.2")
	init := initMaster(t, m0, "", "--upload-certs")
	key := certKeyRE.FindStringSubmatch(init.stdout)[1]
	w := joinWorkerRE.FindStringSubmatch(init.stdout)
	r := m1.run("kubeadm", "join", w[1], "--token", w[2], "--discovery-token-ca-cert-hash", w[3], "--control-plane", "--certificate-key", key, "--apiserver-advertise-address", m1.ip)
	if r.code != 1 || !strings.Contains(r.stderr, "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address") {
		t.Fatalf("control-plane join without controlPlaneEndpoint: %s", r)
	}
}

func TestCertificateKeyWays(t *testing.T) {
	h := newHost(t, "master0", "127.0.20.1")
	k := h.mustRun("kubeadm", "certs", "certificate-key")
	if !hex64RE.MatchString(k.stdout) {
		t.Fatalf("certs certificate-key: %q", k.stdout)
	}
	key := strings.TrimSpace(k.stdout)
	// certificateKey in the InitConfiguration is the key init uploads with.
	cfg := h.write("/root/kubeadm.yaml", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\ncertificateKey: "+key+
		"\nlocalAPIEndpoint: {advertiseAddress: "+h.ip+"}\nnodeRegistration: {name: master0}\n")
	r := h.mustRun("kubeadm", "init", "--config", cfg, "--upload-certs")
	if m := certKeyRE.FindStringSubmatch(r.stdout); m == nil || m[1] != key {
		t.Fatalf("init did not use certificateKey %s:\n%s", key, r.stdout)
	}
	// --certificate-key on the phase.
	r = h.mustRun("kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--certificate-key", strings.Repeat("c", 64))
	if m := certKeyRE.FindStringSubmatch(r.stdout); m == nil || m[1] != strings.Repeat("c", 64) {
		t.Fatalf("phase upload-certs --certificate-key: %s", r)
	}
	r = h.mustRun("kubeadm", "init", "phase", "upload-certs")
	if !strings.Contains(r.stdout, "[upload-certs] Skipping phase. Please see --upload-certs") {
		t.Fatalf("phase without --upload-certs: %s", r)
	}
	// token create with a certificate key prints a control-plane join.
	r = h.mustRun("kubeadm", "token", "create", "--print-join-command", "--certificate-key", key)
	if !strings.HasSuffix(r.stdout, " --control-plane --certificate-key "+key+"\n") {
		t.Fatalf("control-plane join command: %q", r.stdout)
	}
	r = h.run("kubeadm", "token", "create", "not-a-token")
	if r.code != 1 || !strings.Contains(r.stderr, `the bootstrap token "not-a-token" was not of the form`) {
		t.Fatalf("token create with a bad token: %s", r)
	}
	r = h.mustRun("kubeadm", "token", "create", "abcdef.0000000000000000", "--ttl", "0")
	if r.stdout != "abcdef.0000000000000000\n" {
		t.Fatalf("token create TOKEN: %s", r)
	}
	list := h.mustRun("kubeadm", "token", "list")
	if !strings.Contains(list.stdout, "abcdef.0000000000000000   <forever>") {
		t.Fatalf("token list: %s", list.stdout)
	}
}

func TestResetCleans(t *testing.T) {
	// The apiserver gives up on a silent kubelet after 1 s instead of 40.
	m0 := newHost(t, "master0", "127.0.21.1", "FAKEK8S_NODE_MONITOR_GRACE=1s", "FAKEK8S_HEARTBEAT=100ms")
	n1 := newHost(t, "node1", "127.0.21.2", "FAKEK8S_HEARTBEAT=100ms")
	init := initMaster(t, m0, "")
	w := joinWorkerRE.FindStringSubmatch(init.stdout)
	n1.mustRun("kubeadm", "join", w[1], "--token", w[2], "--discovery-token-ca-cert-hash", w[3])

	// Without -f reset asks, and no is no.
	r := n1.runStdin("n\n", "kubeadm", "reset")
	if r.code != 1 || !strings.Contains(r.stderr, "aborted reset operation") || !n1.exists("/etc/kubernetes/kubelet.conf") {
		t.Fatalf("declined reset: %s", r)
	}
	r = n1.mustRun("kubeadm", "reset", "-f", "--cri-socket", "unix:///var/run/containerd/containerd.sock")
	if !strings.Contains(r.stdout, "[reset] Stopping the kubelet service") {
		t.Fatalf("reset output: %s", r)
	}
	for _, f := range []string{"/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/config.yaml", "/var/lib/fakek8s/kubelet.pid"} {
		if n1.exists(f) {
			t.Errorf("reset left %s", f)
		}
	}
	if !n1.exists(CallsFile) {
		t.Error("reset removed the call record")
	}
	// Like kubeadm, reset leaves the Node object; its kubelet is gone, so it
	// turns NotReady after the grace period, and kubectl delete removes it.
	eventually(t, 10*time.Second, "node1 NotReady", func() bool {
		_, nodes := m0.nodes(m0.admin())
		return nodes["node1"].ready() == "Unknown"
	})
	m0.mustRun(m0.admin(), "kubectl", "delete", "node", "node1")
	if _, nodes := m0.nodes(m0.admin()); len(nodes) != 1 {
		t.Fatalf("after delete: %v", nodes)
	}
	// The node can join again.
	n1.mustRun("kubeadm", "join", w[1], "--token", w[2], "--discovery-token-ca-cert-hash", w[3])

	m0.mustRun("kubeadm", "reset", "-f")
	if portOpen(m0.endpoint()) {
		t.Fatal("the apiserver still listens after reset")
	}
	for _, f := range []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/manifests/kube-apiserver.yaml", "/var/lib/fakek8s/apiserver/state.json"} {
		if m0.exists(f) {
			t.Errorf("reset left %s", f)
		}
	}
	// Reset with nothing installed succeeds, as kubeadm's does.
	m0.mustRun("kubeadm", "reset", "-f")
	// And the host can be initialised again.
	initMaster(t, m0, "")
}

func TestReadyDelay(t *testing.T) {
	// 5 s: long enough that no load makes it pass before the first look.
	m0 := newHost(t, "master0", "127.0.22.1", "FAKEK8S_READY_DELAY=5s")
	initMaster(t, m0, "")
	_, nodes := m0.nodes(m0.admin())
	if nodes["master0"].ready() != "False" {
		t.Fatalf("want NotReady right after init with a ready delay, got %+v", nodes["master0"])
	}
	r := m0.run(m0.admin(), "kubectl", "wait", "--for=condition=Ready", "node/master0", "--timeout=300ms")
	if r.code != 1 || !strings.Contains(r.stderr, "timed out waiting for the condition on nodes/master0") {
		t.Fatalf("wait before ready: %s", r)
	}
	r = m0.mustRun(m0.admin(), "kubectl", "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=30s")
	if r.stdout != "node/master0 condition met\n" {
		t.Fatalf("wait: %s", r)
	}
}

func TestKubeletVersion(t *testing.T) {
	h := newHost(t, "n", "127.0.23.1")
	r := h.mustRun("kubelet", "--version")
	if r.stdout != "Kubernetes "+DefaultVersion+"\n" {
		t.Fatalf("kubelet --version: %q", r.stdout)
	}
	if r := h.mustRun("kubeadm", "version", "-o", "short"); r.stdout != DefaultVersion+"\n" {
		t.Fatalf("kubeadm version -o short: %q", r.stdout)
	}
	bin := BuildT(t, WithVersion("v1.29.8"))
	out, err := runBinary(bin, "kubelet", "--version")
	if err != nil || out != "Kubernetes v1.29.8\n" {
		t.Fatalf("WithVersion: %q %v", out, err)
	}
}

func runBinary(bin string, args ...string) (string, error) {
	dir := filepath.Dir(bin)
	if err := Install(bin, dir); err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(dir, args[0]), args[1:]...)
	cmd.Env = []string{"FAKEK8S_ROOT=" + dir}
	b, err := cmd.Output()
	return string(b), err
}

func TestInitFromFlags(t *testing.T) {
	h := newHost(t, "master0", "127.0.24.1")
	r := h.run("kubeadm", "init", "--config", h.initConfig(""), "--pod-network-cidr", "10.1.0.0/16")
	if r.code != 1 || !strings.Contains(r.stderr, "can not mix '--config' with arguments [pod-network-cidr]") {
		t.Fatalf("flags mixed with --config: %s", r)
	}
	r = h.mustRun("kubeadm", "init", "--apiserver-advertise-address", h.ip, "--node-name", "cp-a",
		"--pod-network-cidr", "10.1.0.0/16", "--token", "flagsx.0123456789abcdef", "--control-plane-endpoint", h.ip,
		"--upload-certs", "--skip-phases", "addon/kube-proxy")
	if !strings.Contains(r.stdout, "kubeadm join "+h.endpoint()+" --token flagsx.0123456789abcdef") ||
		!strings.Contains(r.stdout, "--control-plane --certificate-key") || strings.Contains(r.stdout, "addon: kube-proxy") {
		t.Fatalf("init from flags:\n%s", r.stdout)
	}
	_, nodes := h.nodes(h.admin())
	if n := nodes["cp-a"]; n.ready() != "True" || !strings.HasPrefix(n.Spec.PodCIDR, "10.1.") {
		t.Fatalf("node from flags: %+v", nodes)
	}
	if r := h.run(h.admin(), "kubectl", "get", "ds", "kube-proxy", "-n", "kube-system"); r.code != 1 {
		t.Fatalf("kube-proxy addon skipped, yet: %s", r)
	}
	if r := h.run("kubeadm", "init", "--skip-phases", "no-such-phase"); r.code != 1 || !strings.Contains(r.stderr, "invalid phase name: no-such-phase") {
		t.Fatalf("unknown phase: %s", r)
	}
}

func TestJoinDiscoveryFile(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.25.1")
	n1 := newHost(t, "node1", "127.0.25.2")
	initMaster(t, m0, "")
	// The discovery file is cluster-info's kubeconfig, handed over out of band.
	r := m0.mustRun(m0.admin(), "kubectl", "get", "configmap", "cluster-info", "-n", "kube-public", "-o", "jsonpath={.data.kubeconfig}")
	file := n1.write("/root/discovery.conf", r.stdout)
	r = n1.run("kubeadm", "join", "--discovery-file", file)
	if r.code != 3 || !strings.Contains(r.stderr, "discovery.tlsBootstrapToken") {
		t.Fatalf("discovery file without a bootstrap token: %s", r)
	}
	n1.mustRun("kubeadm", "join", "--discovery-file", file, "--tls-bootstrap-token", "abcdef.0123456789abcdef")
	if _, nodes := m0.nodes(m0.admin()); nodes["node1"].ready() != "True" {
		t.Fatalf("node1 via discovery file: %+v", nodes)
	}
}
