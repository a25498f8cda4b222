package discover

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	const d = "sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1"
	tests := []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox", "docker.io/library/busybox:latest"},
		{"kubernetesui/dashboard:v2.0.0-rc4", "docker.io/kubernetesui/dashboard:v2.0.0-rc4"},
		{"quay.io/metallb/speaker:v0.16.1", "quay.io/metallb/speaker:v0.16.1"},
		{"localhost/app", "localhost/app:latest"},
		{"localhost:5000/app:1", "localhost:5000/app:1"},
		{"registry.k8s.io/pause@" + d, "registry.k8s.io/pause@" + d},
		{"registry.k8s.io/ingress-nginx/controller:v1.15.1@" + d, "registry.k8s.io/ingress-nginx/controller:v1.15.1@" + d},
		{"  nginx:1.27\n", "docker.io/library/nginx:1.27"},
	}
	for _, tc := range tests {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "   ", "Nginx", "nginx:", "nginx@sha256:12", "{{ .Values.image }}", "http://example.com/x:1"} {
		if got, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		} else if !strings.Contains(err.Error(), "image reference") {
			t.Errorf("Normalize(%q) error %q does not say what", bad, err)
		}
	}
}

func TestCandidate(t *testing.T) {
	tests := []struct {
		tok  string
		ctx  strength
		want string // "" when it is not an image
	}{
		{"quay.io/x/y:v1", noContext, "quay.io/x/y:v1"},
		{"rancher/foo:1.2", noContext, "docker.io/rancher/foo:1.2"},
		{"foo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", noContext,
			"docker.io/library/foo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"k8s.io/ingress-nginx", noContext, ""},
		{"10.244.0.0/16", noContext, ""},
		{"rancher.io/local-path", noContext, ""},
		{"localhost:8080", noContext, ""},
		{"0.0.0.0:8443", noContext, ""},
		{"busybox:1.36", noContext, ""},
		{"kubernetes.io/os:linux", noContext, ""},
		{"/usr/bin/x:1", noContext, ""},
		{"http://registry/x:1", noContext, ""},
		{"$(NS)/svc:1", noContext, ""},
		{"busybox:1.36", imageish, "docker.io/library/busybox:1.36"},
		{"quay.io/x/y", imageish, "quay.io/x/y:latest"},
		{"always", imageish, ""},
		{"v1.2.3", imageish, ""},
		{"nginx", imageField, "docker.io/library/nginx:latest"},
		{"Not Valid", imageField, ""},
	}
	for _, tc := range tests {
		got, ok := candidate(tc.tok, tc.ctx)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("candidate(%q, %d) = %q, want %q", tc.tok, tc.ctx, got, tc.want)
		}
	}
}

func TestIsImageName(t *testing.T) {
	for name, want := range map[string]bool{
		"--helper-image": true, "RELATED_IMAGE_FOO": true, "sidecarImage": true, "image": true, "imageName": true,
		"IMAGE_PULL_POLICY": false, "imagePullSecrets": false, "IMAGE_TAG": false, "imageRepository": false,
		"--registry": false, "PATH": false,
	} {
		if got := isImageName(name); got != want {
			t.Errorf("isImageName(%q) = %v, want %v", name, got, want)
		}
	}
}
