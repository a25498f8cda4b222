package discover

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		dir      string
		opts     Options
		pods     []string // Result.Images without extras
		extras   []string // Result.Extras
		sources  []string // Source.String() of some references
		warnings []string // substrings, one per expected warning, in order
	}{{
		dir: "kinds",
		pods: []string{
			"docker.io/example/backup:2024.10",
			"docker.io/example/rc:latest",
			"docker.io/library/busybox:1.36",
			"docker.io/library/nginx:1.27",
			"docker.io/library/postgres:16.4",
			"ghcr.io/example/migrate:v2",
			"ghcr.io/example/web:v2",
			"localhost:5000/tmpl:dev",
			"quay.io/example/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"registry.example.com:5000/team/rs:1.0",
			"registry.k8s.io/e2e-test-images/agnhost:2.53@sha256:99c6b4bb4a1e1df3f0b3752168c89358794d02258ebebc26bf21c29399011a85",
		},
		sources: []string{
			"workloads.yaml#0 Pod/debug-me ephemeralContainers[debugger].image",
			"workloads.yaml#7 CronJob/nightly containers[backup].image",
			"workloads.yaml#8 PodTemplate/tmpl containers[t].image",
		},
	}, {
		dir: "lists",
		pods: []string{
			"docker.io/example/in-list:1",
			"docker.io/example/listed-cron:3",
			"docker.io/example/typed-list:2",
		},
		sources: []string{"lists.yaml#1 Deployment/typed-list items[0].containers[b].image"},
	}, {
		dir:  "broken",
		pods: []string{"docker.io/example/after:1", "docker.io/example/before:1"},
		warnings: []string{
			"app.yaml#1: document at line 11 skipped",
			`app.yaml#2 Deployment/after containers[templated].image: skipped: image reference "{{ .Values.image }}"`,
			"blob.yaml#0: document at line 1 skipped",
			"values.yml#0: document at line 1 skipped",
		},
	}, {
		dir: "crd",
	}, {
		dir: "imagestxt",
		pods: []string{
			"docker.io/library/busybox:latest",
			"ghcr.io/example/nested:v1",
			"quay.io/example/pinned@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"registry.k8s.io/pause:3.10",
		},
		sources: []string{"images.txt:4", "sub/images.txt:2"},
	}, {
		dir: "extras",
		pods: []string{
			"quay.io/example/operator:v1.4.0",
			"quay.io/example/reloader-override:v0.71.0",
		},
		extras: []string{
			"docker.io/envoyproxy/envoy:v1.31.0",
			"docker.io/library/alpine:latest",
			"docker.io/library/busybox:1.36",
			"ghcr.io/example/script-pull:1.0",
			"quay.io/cephcsi/cephcsi:v3.12.0",
			"quay.io/example/acmesolver:v1.14.0",
			"quay.io/example/config-reloader:v0.71.0",
			"quay.io/example/exporter:v0.15.0",
			"quay.io/prometheus/prometheus:v2.54.1",
			"quay.io/thanos/thanos:v0.36.1",
			"registry.k8s.io/pause:3.10",
		},
		sources: []string{
			"operator.yaml#0 Deployment/operator containers[manager].args[2]",
			"operator.yaml#1 ConfigMap/helpers data[helperPod.yaml]#0:Pod/helper containers[helper].image",
			"operator.yaml#2 Prometheus/main spec.image",
		},
	}, {
		dir: "custom",
		pods: []string{
			"docker.io/volcanosh/example-mpi:0.0.3",
			"ghcr.io/knative/helloworld-go:latest",
			"quay.io/example/templated:1.0",
		},
	}, {
		// Default values; a hook and a test hook count; NOTES.txt, a
		// disabled subchart and a values-only sidecar do not.
		dir: "charts",
		pods: []string{
			"docker.io/example/hook:1",
			"docker.io/example/kube-new:1",
			"docker.io/example/sub-on:1",
			"docker.io/library/busybox:1.36",
			"ghcr.io/example/app:2.5.0",
		},
		sources: []string{
			"app (rendered app/templates/deployment.yaml#0) Deployment/release-app containers[app].image",
			"app (rendered app/charts/sub-on/templates/deployment.yaml#0) Deployment/release-sub-on containers[sub].image",
		},
	}, {
		// The chart picks its images by Kubernetes version.
		dir:  "charts",
		opts: Options{KubeVersion: "v1.28.3"},
		pods: []string{
			"docker.io/example/hook:1",
			"docker.io/example/kube-old:1",
			"docker.io/example/sub-on:1",
			"docker.io/library/busybox:1.36",
			"ghcr.io/example/app:2.5.0",
		},
	}, {
		// The OCI layout under images/ is not read.
		dir:  "rootfs",
		pods: []string{"docker.io/library/nginx:1.27", "registry.k8s.io/pause:3.10"},
	}}
	for _, tc := range tests {
		t.Run(tc.dir+tc.opts.KubeVersion, func(t *testing.T) {
			r, err := Find(context.Background(), "testdata/"+tc.dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Refs(); !slices.Equal(got, tc.pods) {
				t.Errorf("images:\n got %q\nwant %q", got, tc.pods)
			}
			var extras []string
			for _, e := range r.Extras {
				extras = append(extras, e.Ref)
			}
			if !slices.Equal(extras, tc.extras) {
				t.Errorf("extras:\n got %q\nwant %q", extras, tc.extras)
			}
			var all []string
			for _, im := range append(slices.Clone(r.Images), r.Extras...) {
				for _, s := range im.Sources {
					all = append(all, s.String())
				}
			}
			for _, want := range tc.sources {
				if !slices.Contains(all, want) {
					t.Errorf("source %q not reported; have:\n%s", want, strings.Join(all, "\n"))
				}
			}
			if len(r.Warnings) != len(tc.warnings) {
				t.Errorf("got %d warnings, want %d: %q", len(r.Warnings), len(tc.warnings), r.Warnings)
			}
			for i, w := range r.Warnings {
				if i < len(tc.warnings) && !strings.Contains(w.String(), tc.warnings[i]) {
					t.Errorf("warning %d = %q, want it to contain %q", i, w, tc.warnings[i])
				}
			}
			if r.KubeVersion == "" {
				t.Error("KubeVersion not reported")
			}
		})
	}
}

func TestFindIncludeExtras(t *testing.T) {
	r, err := Find(context.Background(), "testdata/extras", Options{IncludeExtras: true})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Refs()
	for _, want := range []string{"quay.io/example/operator:v1.4.0", "quay.io/prometheus/prometheus:v2.54.1", "docker.io/library/alpine:latest"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s missing from %q", want, got)
		}
	}
	if len(got) != 2+11 {
		t.Errorf("got %d images, want 13: %q", len(got), got)
	}
	if u := r.UncarriedExtras(); len(u) != 0 {
		t.Errorf("uncarried extras with IncludeExtras: %v", u)
	}
}

func TestUncarriedExtras(t *testing.T) {
	// busybox:latest is both a pod image (images.txt) and an extra.
	root := t.TempDir()
	writeFile(t, root, "images.txt", "busybox\n")
	writeFile(t, root, "m.yaml", `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: example/app:1
    env:
    - {name: HELPER_IMAGE, value: busybox:latest}
    - {name: OTHER_IMAGE, value: example/other:2}
`)
	r, err := Find(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"docker.io/example/other:2"}
	if got := refsOf(r.UncarriedExtras()); !slices.Equal(got, want) {
		t.Errorf("uncarried extras = %q, want %q", got, want)
	}
	// ExtraOnly is the same set whether the extras are carried or not.
	for _, include := range []bool{false, true} {
		r, err := Find(context.Background(), root, Options{IncludeExtras: include})
		if err != nil {
			t.Fatal(err)
		}
		if got := refsOf(r.ExtraOnly()); !slices.Equal(got, want) {
			t.Errorf("IncludeExtras %v: extra-only = %q, want %q", include, got, want)
		}
	}
}

func refsOf(images []Image) []string {
	var out []string
	for _, im := range images {
		out = append(out, im.Ref)
	}
	return out
}

func TestFindErrors(t *testing.T) {
	bad := t.TempDir()
	writeFile(t, bad, "images.txt", "# ok\nnginx:1.27\nNot A Ref\n")
	upper := t.TempDir()
	writeFile(t, upper, "sub/images.txt", "Example/App:1\n")
	file := t.TempDir()
	writeFile(t, file, "f.yaml", "a: 1\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		root string
		opts Options
		want string
	}{
		{"missing dependency", context.Background(), "testdata/chart-missing-dep", Options{},
			"helm chart .: chart missing-dep: dependencies redis are in Chart.yaml but missing in charts/"},
		{"kubeVersion too old", context.Background(), "testdata/charts", Options{KubeVersion: "v1.24.9"},
			"helm chart app: chart app requires kubeVersion >=1.25.0-0, which Kubernetes v1.24.9 does not meet"},
		{"bad kube version", context.Background(), "testdata/kinds", Options{KubeVersion: "one.two"},
			`kubernetes version "one.two"`},
		{"images.txt spaces", context.Background(), bad, Options{}, "images.txt:3: \"Not A Ref\": want one image reference per line"},
		{"images.txt invalid", context.Background(), upper, Options{}, "sub/images.txt:1: image reference \"Example/App:1\""},
		{"no root", context.Background(), "testdata/nope", Options{}, "no such file"},
		{"root is a file", context.Background(), file + "/f.yaml", Options{}, "is not a directory"},
		{"canceled", ctx, "testdata/kinds", Options{}, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Find(tc.ctx, tc.root, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
