package discover

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
)

// Extras are carried by default, so every decoy reported here is an image
// the build tries to pull (and fails on). The cases follow patterns of real
// public manifests; each says which.
func TestExtraHeuristics(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // Result.Extras, sorted
	}{{
		name: "tcp-services entries are namespace/service:port",
		yaml: `apiVersion: v1
kind: ConfigMap
metadata: {name: tcp-services}
data:
  "9000": "default/example-go:8080"
  "53": "kube-system/kube-dns:53:PROXY"
`,
	}, {
		name: "a registry and a numeric tag is an image",
		yaml: `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: app:1
    args: ["--db-image-default", "x", "--fallback=docker.io/library/postgres:16"]
`,
		want: []string{"docker.io/library/postgres:16"},
	}, {
		name: "commented-out settings are not pulled",
		yaml: `apiVersion: v1
kind: ConfigMap
metadata: {name: containerd}
data:
  config.toml: |
    # sandbox_image = "registry.k8s.io/pause:3.6"
    sandbox_image = "registry.k8s.io/pause:3.10"  # was registry.k8s.io/pause:3.9
  _example: |
    ################################
    # This block is not actually functional configuration.
    # queue-sidecar-image: gcr.io/knative-releases/queue:v1.0.0
    // helper: quay.io/example/commented:v1
`,
		want: []string{"registry.k8s.io/pause:3.10"},
	}, {
		name: "an image-named key over a whole document does not make every path an image",
		yaml: `apiVersion: v1
kind: ConfigMap
metadata: {name: lists}
data:
  images.yaml: |
    apiVersion: apps/v1
    kind: ImageList
    items: [quay.io/example/listed:v2, example/unversioned]
  HELPER_IMAGE: example/helper
`,
		want: []string{"docker.io/example/helper:latest", "quay.io/example/listed:v2"},
	}, {
		name: "an architecture or OS is a label value, not a tag",
		yaml: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      containers:
      - name: a
        image: example/agent:1
        args: ["--node-selector=kubernetes.io/arch:amd64", "--os=kubernetes.io/os:linux", "--arm=example.com/arch:arm64"]
`,
	}, {
		name: "Docker Hub names have two parts at most",
		yaml: `apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: GCPMachineTemplate
metadata: {name: md}
spec:
  template:
    spec:
      image: projects/ubuntu-os-cloud/global/images/ubuntu-2204-v20240110
      imageFamily: projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts
`,
	}, {
		name: "files and directories named after images are not images",
		yaml: `apiVersion: v1
kind: Pod
metadata: {name: loader}
spec:
  containers:
  - name: c
    image: example/loader:1
    args: ["--image-file=images/app.tar", "--images-dir", "cache/images"]
    env: [{name: IMAGE_PATH, value: vms/disk.qcow2}]
`,
	}, {
		name: "a bare name in a custom resource's settings is a component or VM image",
		yaml: `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh}
spec:
  hub: docker.io/istio
  tag: 1.22.0
  values:
    global:
      proxy: {image: proxyv2, privileged: false}
      proxy_init: {image: proxyv2}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha6
kind: OpenStackMachineTemplate
metadata: {name: md}
spec:
  template:
    spec: {flavor: m1.large, image: ubuntu-2204-kube-v1.30.2, sshKeyName: ops}
`,
	}, {
		name: "an untagged image beside a version is completed by the operator",
		yaml: `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s}
spec:
  baseImage: quay.io/prometheus/prometheus
  version: v2.54.1
  thanos: {image: quay.io/thanos/thanos, tag: v0.36.1}
  alerting: {image: quay.io/prometheus/alertmanager:v0.27.0, version: v0.27.0}
`,
		want: []string{"quay.io/prometheus/alertmanager:v0.27.0"},
	}, {
		name: "an untagged image alone is pulled as latest",
		yaml: `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: testvm}
spec:
  template:
    spec:
      domain: {devices: {disks: [{name: containerdisk, disk: {bus: virtio}}]}}
      volumes:
      - name: containerdisk
        containerDisk: {image: quay.io/kubevirt/cirros-container-disk-demo}
`,
		want: []string{"quay.io/kubevirt/cirros-container-disk-demo:latest"},
	}, {
		name: "steps of a pipeline are containers, bare names included",
		yaml: `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build}
spec:
  steps:
  - name: clone
    image: alpine/git:v2.45.2
    script: git clone "$(params.url)"
  - name: test
    image: golang
    command: [go, test, ./...]
  sidecars:
  - name: docker
    image: docker:27-dind
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hello-}
spec:
  templates:
  - name: main
    container: {image: busybox, command: [echo, hi]}
  - name: py
    script: {image: python:3.12-alpine, source: print(1)}
`,
		want: []string{
			"docker.io/alpine/git:v2.45.2",
			"docker.io/library/busybox:latest",
			"docker.io/library/docker:27-dind",
			"docker.io/library/golang:latest",
			"docker.io/library/python:3.12-alpine",
		},
	}, {
		name: "the true extras of an operator still count",
		yaml: `apiVersion: apps/v1
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      containers:
      - name: op
        image: quay.io/example/operator:v1
        args:
        - --prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0
        - --engine-image
        - longhornio/longhorn-engine:master-head
        env:
        - {name: CSI_ATTACHER_IMAGE, value: longhornio/csi-attacher:v4.6.1}
        - {name: ROOK_CSI_CEPH_IMAGE, value: quay.io/cephcsi/cephcsi:v3.12.0}
---
apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata: {name: catalog}
spec: {sourceType: grpc, image: quay.io/operatorhubio/catalog:latest}
---
apiVersion: rabbitmq.com/v1beta1
kind: RabbitmqCluster
metadata: {name: mq}
spec: {image: rabbitmq:3.13-management}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg}
spec: {imageName: ghcr.io/cloudnative-pg/postgresql:16.4}
`,
		want: []string{
			"docker.io/library/rabbitmq:3.13-management",
			"docker.io/longhornio/csi-attacher:v4.6.1",
			"docker.io/longhornio/longhorn-engine:master-head",
			"ghcr.io/cloudnative-pg/postgresql:16.4",
			"quay.io/cephcsi/cephcsi:v3.12.0",
			"quay.io/operatorhubio/catalog:latest",
			"quay.io/prometheus-operator/prometheus-config-reloader:v0.76.0",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"manifests/m.yaml": {Data: []byte(tc.yaml)}}
			r, err := FindFS(context.Background(), fsys, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range r.Extras {
				got = append(got, e.Ref)
				if !slices.Contains(tc.want, e.Ref) {
					t.Errorf("false extra %s at %s (raw %q)", e.Ref, e.Sources[0], e.Sources[0].Raw)
				}
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("extra %s not found (got %q)", w, got)
				}
			}
		})
	}
}
