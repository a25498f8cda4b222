package fakek8stest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const appYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: docker.io/library/nginx:1.27}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

const widgetYAML = `apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: demo}
spec: {size: 3}
`

const crdYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  versions: [{name: v1, served: true, storage: true}]
`

func TestApplyRecordsObjects(t *testing.T) {
	h := newHost(t, "master0", "127.0.30.1")
	initMaster(t, h, "")
	dir := h.path("/var/lib/sealpack/rootfs/manifests")
	h.write("/var/lib/sealpack/rootfs/manifests/app.yaml", appYAML)
	h.write("/var/lib/sealpack/rootfs/manifests/widget.yaml", widgetYAML)
	h.write("/var/lib/sealpack/rootfs/manifests/notes.txt", "not a manifest")

	// A kind the cluster does not know fails; the others are applied.
	r := h.run(h.admin(), "kubectl", "apply", "-f", dir)
	if r.code != 1 || r.stdout != "namespace/demo created\ndeployment.apps/web created\nservice/web created\n" ||
		!strings.Contains(r.stderr, `error: resource mapping not found for name: "w1" namespace: "demo" from "`+dir+`/widget.yaml": no matches for kind "Widget" in version "example.com/v1"`) {
		t.Fatalf("first apply: %s", r)
	}
	r = h.mustRun(h.admin(), "kubectl", "apply", "-f", dir+"/app.yaml")
	if r.stdout != "namespace/demo unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n" {
		t.Fatalf("second apply: %s", r)
	}
	h.write("/var/lib/sealpack/rootfs/manifests/app.yaml", strings.Replace(appYAML, "replicas: 3", "replicas: 2", 1))
	r = h.mustRun(h.admin(), "kubectl", "apply", "-f", dir+"/app.yaml")
	if r.stdout != "namespace/demo unchanged\ndeployment.apps/web configured\nservice/web unchanged\n" {
		t.Fatalf("changed apply: %s", r)
	}
	var dep struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec   struct{ Replicas int } `json:"spec"`
		Status struct {
			ReadyReplicas int `json:"readyReplicas"`
		} `json:"status"`
	}
	get := h.mustRun(h.admin(), "kubectl", "get", "deployment", "web", "-n", "demo", "-o", "json")
	if err := json.Unmarshal([]byte(get.stdout), &dep); err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Replicas != 2 || dep.Status.ReadyReplicas != 2 || !strings.Contains(dep.Metadata.Annotations["kubectl.kubernetes.io/last-applied-configuration"], `"replicas":2`) {
		t.Fatalf("stored deployment: %s", get.stdout)
	}
	// Once the CRD is there, the custom resource applies, from stdin too.
	h.write("/var/lib/sealpack/rootfs/manifests/crd.yaml", crdYAML)
	h.mustRun(h.admin(), "kubectl", "apply", "-f", dir+"/crd.yaml")
	r = h.runStdin(widgetYAML, h.admin(), "kubectl", "apply", "-f", "-")
	if r.code != 0 || r.stdout != "widget.example.com/w1 created\n" {
		t.Fatalf("custom resource: %s", r)
	}
	if r := h.mustRun(h.admin(), "kubectl", "get", "wd", "-n", "demo", "-o", "name"); r.stdout != "widget.example.com/w1\n" {
		t.Fatalf("get by short name: %s", r)
	}
	// A namespaced object in a missing namespace is refused by the server.
	h.write("/root/other.yaml", strings.Replace(widgetYAML, "namespace: demo", "namespace: nowhere", 1))
	r = h.run(h.admin(), "kubectl", "apply", "-f", h.path("/root/other.yaml"))
	if r.code != 1 || !strings.Contains(r.stderr, `Error from server (NotFound): error when creating "`+h.path("/root/other.yaml")+`": namespaces "nowhere" not found`) {
		t.Fatalf("missing namespace: %s", r)
	}
	r = h.run(h.admin(), "kubectl", "apply", "-f", h.path("/root/missing.yaml"))
	if r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("missing file: %s", r)
	}
	// delete -f removes what apply made.
	r = h.mustRun(h.admin(), "kubectl", "delete", "-f", dir+"/app.yaml")
	if r.stdout != "namespace \"demo\" deleted\ndeployment.apps \"web\" deleted\nservice \"web\" deleted\n" {
		t.Fatalf("delete: %s", r)
	}
	r = h.run(h.admin(), "kubectl", "get", "deployment", "web", "-n", "demo")
	if r.code != 1 || !strings.Contains(r.stderr, `Error from server (NotFound): deployments.apps "web" not found`) {
		t.Fatalf("get after delete: %s", r)
	}
}

func TestKubectlNodeCommands(t *testing.T) {
	m0 := newHost(t, "master0", "127.0.31.1")
	n1 := newHost(t, "node1", "127.0.31.2")
	init := initMaster(t, m0, "")
	w := joinWorkerRE.FindStringSubmatch(init.stdout)
	n1.mustRun("kubeadm", "join", w[1], "--token", w[2], "--discovery-token-ca-cert-hash", w[3])
	k := func(args ...string) result { return m0.run(append([]string{m0.admin(), "kubectl"}, args...)...) }

	table := k("get", "nodes")
	lines := strings.Split(strings.TrimSpace(table.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME      STATUS   ROLES           AGE   VERSION") ||
		!strings.Contains(lines[1], "master0   Ready    control-plane") || !strings.Contains(lines[2], "node1     Ready    <none>") {
		t.Fatalf("get nodes: %s", table)
	}
	if r := k("get", "nodes", "-o", "jsonpath={.items[*].status.addresses[?(@.type==\"InternalIP\")].address}"); r.stdout != m0.ip+" "+n1.ip {
		t.Fatalf("jsonpath: %s", r)
	}

	cases := []struct {
		args    []string
		code    int
		stdout  string
		stderrs string
	}{
		{[]string{"label", "node", "node1", "disk=ssd"}, 0, "node/node1 labeled\n", ""},
		{[]string{"label", "node", "node1", "disk=hdd"}, 1, "", "error: 'disk' already has a value (ssd), and --overwrite is false"},
		{[]string{"label", "node/node1", "disk=hdd", "--overwrite"}, 0, "node/node1 labeled\n", ""},
		{[]string{"label", "node", "node1", "zone=a", "disk-"}, 0, "node/node1 labeled\n", ""},
		{[]string{"taint", "nodes", "node1", "dedicated=db:NoSchedule"}, 0, "node/node1 tainted\n", ""},
		{[]string{"taint", "nodes", "node1", "dedicated=db:NoSchedule"}, 1, "", "error: node node1 already has dedicated taint(s) with same effect(s) and --overwrite is false"},
		{[]string{"taint", "nodes", "node1", "dedicated=db:Sometimes"}, 1, "", "error: invalid taint effect: Sometimes, unsupported taint effect"},
		{[]string{"taint", "nodes", "node1", "gone:NoSchedule-"}, 1, "", `error: taint "gone:NoSchedule" not found`},
		{[]string{"drain", "node1"}, 1, "node/node1 cordoned\n", "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-"},
		{[]string{"drain", "node1", "--ignore-daemonsets", "--delete-emptydir-data", "--force"}, 0, "node/node1 already cordoned\nnode/node1 drained\n", "Warning: ignoring DaemonSet-managed Pods: kube-system/kube-proxy-"},
		{[]string{"drain", "nosuch", "--ignore-daemonsets"}, 1, "", `Error from server (NotFound): nodes "nosuch" not found`},
		{[]string{"uncordon", "node1"}, 0, "node/node1 uncordoned\n", ""},
		{[]string{"frobnicate"}, 1, "", `error: unknown command "frobnicate" for "kubectl"`},
		{[]string{"get", "nodes", "--frobnicate"}, 1, "", "error: unknown flag: --frobnicate\nSee 'kubectl get --help' for usage."},
		{[]string{"get", "gizmos"}, 1, "", `error: the server doesn't have a resource type "gizmos"`},
		{[]string{"get", "nodes", "-o", "xml"}, 1, "", "unable to match a printer suitable for the output format \"xml\""},
		{[]string{"get", "node", "nosuch"}, 1, "", `Error from server (NotFound): nodes "nosuch" not found`},
		{[]string{"version", "--client"}, 0, "Client Version: " + DefaultVersion + "\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\n", ""},
	}
	for _, tc := range cases {
		r := k(tc.args...)
		if r.code != tc.code || (tc.stdout != "" && r.stdout != tc.stdout) || (tc.code == 0 && tc.stdout == "" && r.stdout != "") || !strings.Contains(r.stderr, tc.stderrs) {
			t.Errorf("kubectl %v: want exit %d, stdout %q, stderr containing %q; got %s", tc.args, tc.code, tc.stdout, tc.stderrs, r)
		}
	}
	_, nodes := m0.nodes(m0.admin())
	n := nodes["node1"]
	if n.Metadata.Labels["disk"] != "" || n.Metadata.Labels["zone"] != "a" || len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" || n.Spec.Unschedulable {
		t.Errorf("node1 after label/taint/uncordon: %+v", n)
	}
	info := k("cluster-info")
	if !strings.Contains(info.stdout, "Kubernetes control plane is running at https://"+m0.endpoint()) || !strings.Contains(info.stdout, "CoreDNS is running at") {
		t.Errorf("cluster-info: %s", info)
	}
	if r := k("version"); !strings.Contains(r.stdout, "Server Version: "+DefaultVersion) {
		t.Errorf("version: %s", r)
	}
	r := k("delete", "node", "node1")
	if r.stdout != "node \"node1\" deleted\n" {
		t.Fatalf("delete node: %s", r)
	}
}

func TestKubectlKubeconfigResolution(t *testing.T) {
	h := newHost(t, "master0", "127.0.32.1")
	// No kubeconfig anywhere: kubectl talks to localhost:8080, as the real
	// one does (it does not fall back to admin.conf).
	r := h.run("kubectl", "get", "nodes")
	if r.code != 1 || !strings.Contains(r.stderr, "The connection to the server localhost:8080 was refused - did you specify the right host or port?") {
		t.Fatalf("no kubeconfig: %s", r)
	}
	r = h.run("kubectl", "--kubeconfig", h.path("/nope"), "get", "nodes")
	if r.code != 1 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Fatalf("missing --kubeconfig: %s", r)
	}
	initMaster(t, h, "")
	if r := h.mustRun("kubectl", "--kubeconfig", h.path("/etc/kubernetes/admin.conf"), "get", "nodes", "-o", "name"); r.stdout != "node/master0\n" {
		t.Fatalf("--kubeconfig: %s", r)
	}
	// ~/.kube/config, as kubeadm's advice sets it up.
	admin, err := os.ReadFile(h.path("/etc/kubernetes/admin.conf"))
	if err != nil {
		t.Fatal(err)
	}
	h.write("/root/.kube/config", string(admin))
	if r := h.mustRun("kubectl", "get", "nodes", "-o", "name"); r.stdout != "node/master0\n" {
		t.Fatalf("~/.kube/config: %s", r)
	}
	// A kubeconfig of another cluster is refused by TLS verification.
	other := newHost(t, "other", "127.0.32.2")
	initMaster(t, other, "")
	otherAdmin, err := os.ReadFile(other.path("/etc/kubernetes/admin.conf"))
	if err != nil {
		t.Fatal(err)
	}
	h.write("/root/other.conf", strings.Replace(string(otherAdmin), other.endpoint(), h.endpoint(), 1))
	r = h.run("kubectl", "--kubeconfig", h.path("/root/other.conf"), "get", "nodes")
	if r.code != 1 || !strings.Contains(r.stderr, "Unable to connect to the server") || !strings.Contains(r.stderr, "x509") {
		t.Fatalf("foreign kubeconfig: %s", r)
	}
	// Once the apiserver is gone, kubectl says the connection was refused.
	h.mustRun("kubeadm", "reset", "-f")
	r = h.run("KUBECONFIG="+h.path("/root/.kube/config"), "kubectl", "get", "nodes")
	if r.code != 1 || !strings.Contains(r.stderr, "The connection to the server "+h.endpoint()+" was refused") {
		t.Fatalf("after reset: %s", r)
	}
}
