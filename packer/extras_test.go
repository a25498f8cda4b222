package packer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// extrasApp is a manifest with one pod-spec image and two extras: one in an
// env value and one in Pod YAML embedded in a ConfigMap.
const extrasApp = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
        env: [{name: HELPER_IMAGE, value: acme/helper:1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hooks}
data:
  pod.yaml: |
    apiVersion: v1
    kind: Pod
    metadata: {name: hook}
    spec:
      containers: [{name: hook, image: acme/hook:2}]
`

const (
	helperAt = "manifests/app.yaml#0 Deployment/app containers[app].env[HELPER_IMAGE]"
	hookAt   = "manifests/app.yaml#1 ConfigMap/hooks data[pod.yaml]#0:Pod/hook containers[hook].image"
)

// Extras are carried unless SkipExtras, and the log says, one line per
// image, which ones and where they were named.
func TestImagesExtras(t *testing.T) {
	mirror, _ := hub(t, "library/nginx:1.27", "acme/helper:1", "acme/hook:2")
	tests := []struct {
		name    string
		skip    bool
		ignore  []string
		kfExtra string   // more Kubefile lines
		images  []string // carried
		log     []string // lines the log has
		notLog  []string // substrings it must not have
	}{{
		name:   "carried by default",
		images: []string{"docker.io/acme/helper:1", "docker.io/acme/hook:2", "docker.io/library/nginx:1.27"},
		log: []string{
			"images: extra image docker.io/acme/helper:1, named at " + helperAt,
			"images: extra image docker.io/acme/hook:2, named at " + hookAt,
		},
		notLog: []string{"left out", "extra image docker.io/library/nginx"},
	}, {
		name:   "skipped",
		skip:   true,
		images: []string{"docker.io/library/nginx:1.27"},
		log: []string{
			"warning: extra image docker.io/acme/helper:1 left out (--skip-extra-images), named at " + helperAt,
			"warning: extra image docker.io/acme/hook:2 left out (--skip-extra-images), named at " + hookAt,
		},
		notLog: []string{"images: extra image"},
	}, {
		// An IMAGE line carries it anyway: it is not "left out".
		name:    "skipped but named by an IMAGE line",
		skip:    true,
		kfExtra: "IMAGE acme/hook:2\n",
		images:  []string{"docker.io/acme/hook:2", "docker.io/library/nginx:1.27"},
		log:     []string{"warning: extra image docker.io/acme/helper:1 left out (--skip-extra-images), named at " + helperAt},
		notLog:  []string{"acme/hook:2 left out", "images: extra image"},
	}, {
		// --ignore-image was the user's choice: nothing to say.
		name:   "ignored",
		ignore: []string{"acme/hook"},
		images: []string{"docker.io/acme/helper:1", "docker.io/library/nginx:1.27"},
		log:    []string{"images: extra image docker.io/acme/helper:1, named at " + helperAt},
		notLog: []string{"acme/hook"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := t.TempDir()
			os.MkdirAll(filepath.Join(ctxDir, "manifests"), 0o755)
			os.WriteFile(filepath.Join(ctxDir, "manifests", "app.yaml"), []byte(extrasApp), 0o644)
			os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY manifests /manifests/\n"+tc.kfExtra), 0o644)
			o := opts(ctxDir, filepath.Join(t.TempDir(), "app.run"))
			io := imageOpts(mirror, "")
			io.SkipExtras, io.Ignore = tc.skip, tc.ignore
			o.Images = NewImageStep(io)
			var log bytes.Buffer
			o.Log = &log
			res := mustBuild(t, o)
			var names []string
			for _, im := range res.Images {
				names = append(names, im.Name)
			}
			if !slices.Equal(names, tc.images) {
				t.Errorf("images = %q, want %q", names, tc.images)
			}
			lines := strings.Split(log.String(), "\n")
			for _, want := range tc.log {
				if !slices.Contains(lines, want) {
					t.Errorf("log lacks the line %q:\n%s", want, log.String())
				}
			}
			for _, not := range tc.notLog {
				if strings.Contains(log.String(), not) {
					t.Errorf("log has %q:\n%s", not, log.String())
				}
			}
		})
	}
}

// An extra that cannot be pulled fails the build, and the error says where
// the guess came from and how to leave it out.
func TestImagesExtraPullFails(t *testing.T) {
	mirror, _ := hub(t, "library/nginx:1.27", "acme/hook:2") // no acme/helper
	ctxDir := t.TempDir()
	os.MkdirAll(filepath.Join(ctxDir, "manifests"), 0o755)
	os.WriteFile(filepath.Join(ctxDir, "manifests", "app.yaml"), []byte(extrasApp), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM scratch\nCOPY manifests /manifests/\n"), 0o644)
	o := opts(ctxDir, filepath.Join(t.TempDir(), "app.run"))
	o.Images = NewImageStep(imageOpts(mirror, ""))
	o.Log = &bytes.Buffer{}
	_, err := Build(context.Background(), o)
	want := "docker.io/acme/helper:1 is an extra image, named at " + helperAt +
		": if it is no image, --ignore-image docker.io/acme/helper:1 or --skip-extra-images leaves it out"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v\nwant it to contain %q", err, want)
	}
	if !strings.Contains(err.Error(), "pull docker.io/acme/helper:1") {
		t.Errorf("error = %v, want the registry's answer kept", err)
	}
	if strings.Contains(err.Error(), "acme/hook:2 is an extra") {
		t.Errorf("error = %v: names an extra that was pulled", err)
	}
}
