package discover

import (
	"slices"
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	found := []string{
		"docker.io/library/nginx:1.27",
		"docker.io/library/busybox:1.36",
		"docker.io/library/busybox:latest",
		"quay.io/prometheus/prometheus:v2.54.1",
		"quay.io/prometheus/node-exporter:v1.8.2",
		"registry.k8s.io/pause:3.10",
		"ghcr.io/example/app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	}
	tests := []struct {
		name   string
		add    []string
		ignore []string
		want   []string
	}{
		{"merge and dedupe", []string{"nginx:1.27", "redis:7", "registry.k8s.io/pause:3.10"}, nil, []string{
			"docker.io/library/busybox:1.36", "docker.io/library/busybox:latest", "docker.io/library/nginx:1.27",
			"docker.io/library/redis:7",
			"ghcr.io/example/app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"quay.io/prometheus/node-exporter:v1.8.2", "quay.io/prometheus/prometheus:v2.54.1", "registry.k8s.io/pause:3.10",
		}},
		{"prefix", nil, []string{"quay.io/prometheus/", "docker.io/"}, []string{
			"ghcr.io/example/app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"registry.k8s.io/pause:3.10",
		}},
		{"glob on the full and the familiar form", nil, []string{"quay.io/*/*:v1*", "busybox:*", "*/example/*"}, []string{
			"docker.io/library/nginx:1.27", "quay.io/prometheus/prometheus:v2.54.1", "registry.k8s.io/pause:3.10",
		}},
		{"a name drops all its tags, a tag only that one", []string{"busybox:1.37"}, []string{"busybox", "nginx:1.27", "ghcr.io/example/app:1.0"}, []string{
			"quay.io/prometheus/node-exporter:v1.8.2", "quay.io/prometheus/prometheus:v2.54.1", "registry.k8s.io/pause:3.10",
		}},
		{"ignore wins over add", []string{"redis:7"}, []string{"redis"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := found
			if tc.name == "ignore wins over add" {
				in = nil
			}
			got, err := Filter(in, tc.add, tc.ignore)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		images, add, ignore []string
		want                string
	}{
		{nil, []string{"Bad Ref"}, nil, `--image-list entry: image reference "Bad Ref"`},
		{[]string{"library/UPPER"}, nil, nil, `image: image reference "library/UPPER"`},
		{nil, nil, []string{"[a-"}, `--ignore-image "[a-": syntax error in pattern`},
		{nil, nil, []string{""}, "--ignore-image: empty pattern"},
	}
	for _, tc := range tests {
		_, err := Filter(tc.images, tc.add, tc.ignore)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Filter(%q, %q, %q) error = %v, want %q", tc.images, tc.add, tc.ignore, err, tc.want)
		}
	}
}

func TestReadImageList(t *testing.T) {
	got, err := ReadImageList("testdata/imagestxt/images.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"registry.k8s.io/pause:3.10",
		"docker.io/library/busybox:latest",
		"quay.io/example/pinned@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReadImageList("testdata/none.txt"); err == nil || !strings.Contains(err.Error(), "image list") {
		t.Errorf("missing file: error = %v", err)
	}
}
