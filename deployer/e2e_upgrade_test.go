package deployer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/fakek8stest"
	"github.com/sealpack/sealpack/payload"
)

// A step is done only while its inputs are unchanged: the same installer
// twice is a no-op; a newer one is an upgrade that sends only the changed
// files and runs the CMD lines again; a rebuilt init-host script runs again
// on every host; an older installer is refused unless AllowDowngrade.
func TestUpgradeRunsWhatChanged(t *testing.T) {
	s := newSite(t, 2)
	version := func(v, replicas, initHost string) *payload.Reader {
		files := map[string][]byte{"manifests/app.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ` + replicas + `
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: docker.io/library/nginx:1.27}]
`)}
		if initHost != "" {
			files["scripts/init-host.sh"] = []byte(initHost)
		}
		return testPayloadWith(t, payloadSpec{labels: map[string]string{payload.LabelTitle: "acme", payload.LabelVersion: v}, files: files})
	}
	v10, v11 := version("1.0", "1", ""), version("1.1", "3", "")
	c := s.cluster(twoHostCluster)
	ctx := context.Background()
	apply := func(p *payload.Reader, mod func(*deployer.Options)) error {
		s.p = p
		s.resetEvents()
		o := s.opts()
		if mod != nil {
			mod(&o)
		}
		return deployer.Apply(ctx, c, o)
	}
	started := func(phase string) int {
		return len(s.eventsOf(func(e event.Event) bool { return e.Type == event.HostStart && e.Phase == phase }))
	}
	said := func(want string) bool {
		return len(s.eventsOf(func(e event.Event) bool { return e.Type == event.Log && strings.Contains(e.Message, want) })) > 0
	}

	if err := apply(v10, nil); err != nil {
		t.Fatalf("install of 1.0: %v", err)
	}
	applies := s.count(0, "kubectl", "apply")
	if err := apply(v10, nil); err != nil {
		t.Fatalf("1.0 again: %v", err)
	}
	if n := started(event.Distribute) + started(event.HostInit) + started(event.Apps); n != 0 || s.count(0, "kubectl", "apply") != applies {
		t.Errorf("the same installer twice ran %d steps and kubectl apply %d more times; want none", n, s.count(0, "kubectl", "apply")-applies)
	}

	if err := apply(v11, nil); err != nil {
		t.Fatalf("upgrade to 1.1: %v", err)
	}
	if !said("upgrade from acme 1.0 to acme 1.1") {
		t.Error("the upgrade did not say so, from version to version")
	}
	if s.count(0, "kubectl", "apply") == applies {
		t.Error("the upgrade did not run the CMD lines of 1.1")
	}
	if started(event.Distribute) != 1 || started(event.HostInit) != 0 {
		t.Errorf("distribute ran on %d hosts (want master0, which has the manifests), host-init on %d (want none: nothing of it changed)", started(event.Distribute), started(event.HostInit))
	}
	if got, _ := s.w.Hosts[0].Exec(ctx, "cat /var/lib/sealpack/rootfs/manifests/app.yaml"); !strings.Contains(string(got), "replicas: 3") {
		t.Errorf("master0 has the old manifest after the upgrade: %s", got)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", "logs", s.w.Hosts[0].IP+".log"))
	if !strings.Contains(string(log), "[distribute] 1 of ") {
		t.Errorf("the upgrade should copy the one changed file; master0's log says:\n%s", grepLines(string(log), "[distribute]"))
	}

	err := apply(v10, nil)
	if err == nil || !strings.Contains(err.Error(), "older than acme 1.1") || !strings.Contains(err.Error(), "--allow-downgrade") {
		t.Fatalf("1.0 over 1.1: %v, want a refusal that names --allow-downgrade", err)
	}
	if started(event.Preflight)+started(event.Distribute) != 0 {
		t.Error("a refused downgrade touched the hosts")
	}
	if err := apply(v10, func(o *deployer.Options) { o.AllowDowngrade = true }); err != nil {
		t.Fatalf("1.0 with AllowDowngrade: %v", err)
	}

	// A rebuilt image whose init-host script changed runs it again everywhere.
	rebuilt := version("1.0", "1", "#!/bin/sh\nset -e\necho 1 > /proc/sys/net/ipv4/ip_forward\necho rebuilt > /var/lib/sealpack/init-host.v2\n")
	if err := apply(rebuilt, nil); err != nil {
		t.Fatalf("rebuilt 1.0: %v", err)
	}
	for i, h := range s.w.Hosts {
		if out, _ := h.Exec(ctx, "cat /var/lib/sealpack/init-host.v2"); !strings.Contains(string(out), "rebuilt") {
			t.Errorf("host %d: the changed init-host script did not run", i)
		}
	}
	var st struct {
		Installed struct{ Title, Version, Digest string }
	}
	b, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", "state.json"))
	json.Unmarshal(b, &st)
	if st.Installed.Digest != rebuilt.Digest() || st.Installed.Version != "1.0" {
		t.Errorf("state.json records %+v as installed, want the rebuilt 1.0 (%s)", st.Installed, rebuilt.Digest())
	}
	kube := s.eventsOf(func(e event.Event) bool { return e.Type == event.Check && e.Check == "kubernetes" })
	if len(kube) != 1 || kube[0].Status != event.OK || kube[0].Message != "v1.30.4, as carried" {
		t.Errorf("preflight of the installed cluster: kubernetes checks %+v, want one saying v1.30.4, as carried", kube)
	}

	// kubeadm upgrades one minor at a time and never downgrades: refused
	// before any host changes.
	for _, tc := range []struct{ version, want string }{
		{"v1.32.0", "kubeadm upgrades one minor version at a time; install an installer of v1.31.x first"},
		{"v1.29.9", "kubeadm cannot downgrade a cluster"},
	} {
		defaults := strings.Replace(fakek8stest.KubeadmDefaults, "kubernetesVersion: v1.30.4", "kubernetesVersion: "+tc.version, 1)
		p := testPayloadWith(t, payloadSpec{labels: map[string]string{payload.LabelTitle: "acme", payload.LabelVersion: "1.2"},
			files: map[string][]byte{"etc/kubeadm.yaml": []byte(defaults)}})
		err := apply(p, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Kubernetes %s over v1.30.4: %v, want %q", tc.version, err, tc.want)
		}
		if started(event.Distribute) != 0 {
			t.Errorf("Kubernetes %s over v1.30.4 was refused after distribute began", tc.version)
		}
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
