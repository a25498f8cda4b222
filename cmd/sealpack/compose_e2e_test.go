package main

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/internal/testhost"
)

// writeContext writes a build context: path -> content; paths under bin/
// and plugins/ are executable.
func writeContext(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "bin/") || strings.HasPrefix(p, "plugins/") || strings.HasPrefix(p, "scripts/") {
			mode = 0o755
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func configMap(name string) []byte {
	return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {app: " + name + "}\n")
}

// TestComposedInstallerInstalls is issue 12 end to end: a Kubernetes base
// (the fake distribution) pushed to a registry; an app built FROM that
// registry reference and another FROM the base's file; the two merged, the
// result pushed and pulled back byte for byte; then installed on 1 master +
// 1 node with one of its two apps chosen and plugins: the files, CMD order,
// app choice and plugin effects are what the Kubefiles and Clusterfile say.
func TestComposedInstallerInstalls(t *testing.T) {
	w := testhost.New(t, 2, testhost.Options{})
	master, node := w.Hosts[0], w.Hosts[1]
	stubs, err := stubsOnce()
	if err != nil {
		t.Fatalf("building the installer program: %v", err)
	}
	t.Setenv(stubDirEnv, stubs)
	t.Setenv("HOME", t.TempDir()) // the FROM cache, ~/.cache/sealpack
	fake, err := os.ReadFile(fakek8stest.BuildT(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	work := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, stderr, err := sealpack(t, args...)
		if err != nil {
			t.Fatalf("sealpack %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return out
	}

	baseFiles := fakek8stest.Rootfs(fake)
	baseFiles["manifests/base.yaml"] = configMap("base")
	baseFiles["Kubefile"] = []byte("FROM scratch\nLABEL org.opencontainers.image.title=k8s org.opencontainers.image.version=1.34\n" +
		"COPY bin /bin/\nCOPY etc /etc/\nCOPY scripts /scripts/\nCOPY manifests /manifests/\nCMD kubectl apply -f manifests/base.yaml\n")
	base := filepath.Join(work, "base.run")
	run("build", "-q", "-o", base, writeContext(t, baseFiles))
	run("push", base, reg+"/bases/k8s:v1.34")

	db := filepath.Join(work, "db.run")
	run("build", "-q", "-o", db, writeContext(t, map[string][]byte{
		"db.yaml":  configMap("db"),
		"Kubefile": []byte("FROM " + reg + "/bases/k8s:v1.34\nLABEL org.opencontainers.image.title=db\nAPP db local://db.yaml\nCMD kubectl apply -f application/apps/db/db.yaml --dry-run=client\n"),
	}))
	web := filepath.Join(work, "web.run")
	run("build", "-q", "-o", web, writeContext(t, map[string][]byte{
		"web.yaml":      configMap("web"),
		"plugins/probe": []byte("#!/bin/sh\ncat > /var/lib/probe.json\n"),
		"Kubefile":      []byte("FROM " + base + "\nLABEL org.opencontainers.image.title=site org.opencontainers.image.version=2.0\nAPP web local://web.yaml\nCOPY plugins /plugins/\n"),
	}))
	site := filepath.Join(work, "site.run")
	run("merge", "-q", db, web, "-o", site)
	run("push", site, reg+"/sites/acme:2.0")
	pulled := filepath.Join(work, "pulled.run")
	run("pull", reg+"/sites/acme:2.0", "-o", pulled)
	a, _ := os.ReadFile(site)
	b, _ := os.ReadFile(pulled)
	if !bytes.Equal(a, b) {
		t.Fatal("the installer pulled back differs from the one pushed")
	}
	if out, _, err := installer(t, pulled, "inspect"); err != nil || !strings.Contains(out, "site") || !strings.Contains(out, "db") || !strings.Contains(out, "web") {
		t.Fatalf("inspect: %v\n%s", err, out)
	}

	cf := filepath.Join(work, "Clusterfile")
	os.WriteFile(cf, []byte(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: composed}
spec:
  ssh: {passwd: `+testhost.DefaultRootPassword+`}
  hosts:
  - {ips: [`+master.IP+`], roles: [master]}
  - {ips: [`+node.IP+`], roles: [node]}
  appNames: [web]
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: marker}
spec:
  type: SHELL
  action: post-init-host
  scope: node
  data: echo composed > /var/lib/marker
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: probe}
spec:
  type: EXEC
  action: post-init-host
  scope: master
  data: plugins/probe
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: tier}
spec:
  type: LABEL
  data: |
    `+node.IP+` tier=web
`), 0o600)
	if out, stderr, err := installer(t, pulled, "--unattended", "-f", cf, "--accept-new-host-keys"); err != nil {
		t.Fatalf("install: %v\n%s%s", err, out, stderr)
	}

	// The merged rootfs on master0: the base's files once, both apps' files.
	on := func(h *testhost.Host, script string) string {
		out, err := h.Exec(t.Context(), script)
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", h.IP, script, err, out)
		}
		return string(out)
	}
	on(master, "cd /var/lib/sealpack/rootfs && test -x bin/kubeadm && test -f manifests/base.yaml && test -f application/apps/db/db.yaml && test -f application/apps/web/web.yaml && test -x plugins/probe")
	// CMD lines: the base's once (both apps inherit it), then db's; then
	// the chosen app only.
	calls, err := fakek8stest.ParseCalls(strings.NewReader(on(master, "cat /var/lib/fakek8s/calls.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	var applies []string
	var labels []string
	for _, c := range calls {
		if c.Command != "kubectl" || len(c.Argv) < 2 {
			continue
		}
		switch c.Argv[1] {
		case "apply":
			applies = append(applies, strings.Join(c.Argv[2:], " "))
		case "label":
			labels = append(labels, strings.Join(c.Argv[2:], " "))
		}
	}
	want := []string{"-f manifests/base.yaml", "-f application/apps/db/db.yaml --dry-run=client", "-f application/apps/web/web.yaml"}
	if !slices.Equal(applies, want) {
		t.Errorf("kubectl apply calls:\n  %s\nwant\n  %s", strings.Join(applies, "\n  "), strings.Join(want, "\n  "))
	}
	if !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, "tier=web") }) {
		t.Errorf("no kubectl label with tier=web: %q", labels)
	}
	// The SHELL plugin on the node only, the EXEC plugin on the master only.
	if got := on(node, "cat /var/lib/marker"); got != "composed\n" {
		t.Errorf("marker on the node: %q", got)
	}
	on(master, "! test -e /var/lib/marker")
	if got := on(master, "cat /var/lib/probe.json"); !strings.Contains(got, master.IP) || !strings.Contains(got, `"composed"`) {
		t.Errorf("the EXEC plugin's stdin on the master: %s", got)
	}
	on(node, "! test -e /var/lib/probe.json")
}
