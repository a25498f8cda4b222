package deployer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh/sshtest"
	"github.com/sealpack/sealpack/internal/payloadtest"
	"github.com/sealpack/sealpack/payload"
)

// The unit tests of the deployer drive Apply, Join, Delete and Reset
// through Options.Dial against fake hosts (sshtest recorders) that answer
// the deployer's scripts from a table of regular expressions (fakehost_unit_test.go),
// as a Linux host with testdata/fakek8s would. They need no root, no
// network namespace and no sshd; the end-to-end tests (e2e_*_test.go)
// run the same verbs against real sshd.

// fakeToken and fakeCAHash are what the fake kubeadm token create prints.
const (
	fakeToken  = "abcdef.0123456789abcdef"
	fakeCAHash = "sha256:00000000000000000000000000000000000000000000000000000000000000aa"
)

// fakeKubeadmDefaults is the image's etc/kubeadm.yaml.
const fakeKubeadmDefaults = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.31.2
networking:
  podSubnet: 100.64.0.0/10
  serviceSubnet: 10.96.0.0/22
`

// fakePayload changes the test installer: rootfs files added or replaced
// ("" removes one), other CMD lines (when not nil), labels added.
type fakePayload struct {
	files  map[string]string
	cmds   []string
	labels map[string]string
	apps   []payload.App // carried apps; their files go in files
	launch []string
}

// newFakePayload writes an installer with a small rootfs and one carried
// image (named in the index; no registry serves it in these tests).
func newFakePayload(t *testing.T, spec fakePayload) *payload.Reader {
	t.Helper()
	files := map[string]string{
		"bin/kubeadm":          "#!/bin/sh\n# fake kubeadm\n",
		"bin/kubectl":          "#!/bin/sh\n# fake kubectl\n",
		"etc/kubeadm.yaml":     fakeKubeadmDefaults,
		"scripts/init-host.sh": "#!/bin/sh\necho init-host\n",
		"manifests/app.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n",
	}
	for p, b := range spec.files {
		if b == "" {
			delete(files, p)
		} else {
			files[p] = b
		}
	}
	cmds := spec.cmds
	if cmds == nil {
		cmds = []string{"kubectl apply -f manifests/", "kubectl get nodes"}
	}
	labels := map[string]string{payload.LabelTitle: "unit", payload.LabelVersion: "1.0.0"}
	for k, v := range spec.labels {
		labels[k] = v
	}
	rootfs := map[string][]byte{}
	for p, b := range files {
		rootfs[p] = []byte(b)
	}
	return payloadtest.Write(t, rootfs, payload.Meta{Platform: "linux/amd64", Labels: labels, Cmds: cmds, Apps: spec.apps, Launch: spec.launch,
		Images: []payload.Image{{Name: "docker.io/library/nginx:1.27", Digest: "sha256:" + strings.Repeat("1", 64), Platform: "linux/amd64", Size: 1}}})
}

// fakeSite is n fake hosts, 10.0.0.10 on, and a Clusterfile directory.
type fakeSite struct {
	t   *testing.T
	dir string
	p   *payload.Reader
	ips []string

	mu    sync.Mutex
	hosts map[string]*sshtest.Recorder
	names map[string]string // hostname by IP
	nodes map[string]string // node name by InternalIP, while it is in the cluster
	// kubeVersion is the kubernetesVersion kubeadm init was given.
	kubeVersion string
	facts       map[string]map[string]string // preflight facts that differ from a good host's
	dialErr     map[string]error
	dials       int
	events      []event.Event
	pushed      []RegistryAuth // what PushImages was given
}

func newFakeSite(t *testing.T, n int, spec fakePayload) *fakeSite {
	s := &fakeSite{t: t, dir: t.TempDir(), p: newFakePayload(t, spec), hosts: map[string]*sshtest.Recorder{},
		names: map[string]string{}, nodes: map[string]string{}, facts: map[string]map[string]string{}, dialErr: map[string]error{}}
	for i := range n {
		ip := fmt.Sprintf("10.0.0.%d", 10+i)
		s.ips = append(s.ips, ip)
		s.names[ip] = fmt.Sprintf("host-%d", i)
		s.hosts[ip] = s.newHost(ip)
	}
	return s
}

// host is the fake host i.
func (s *fakeSite) host(i int) *sshtest.Recorder { return s.hosts[s.ips[i]] }

// cluster parses a Clusterfile whose {{i}} stand for the hosts' IPs.
func (s *fakeSite) cluster(text string) *clusterfile.Cluster {
	s.t.Helper()
	c, _, err := clusterfile.Parse("Clusterfile", []byte(s.expand(text)))
	if err != nil {
		s.t.Fatalf("Clusterfile: %v\n%s", err, text)
	}
	return c
}

func (s *fakeSite) expand(text string) string {
	for i, ip := range s.ips {
		text = strings.ReplaceAll(text, fmt.Sprintf("{{%d}}", i), ip)
	}
	return text
}

// opts are a run's options, Dial giving the fake hosts.
func (s *fakeSite) opts() Options {
	return Options{
		Payload: s.p, StateDir: filepath.Join(s.dir, ".sealpack"), RegistryPort: 5000,
		ReadyTimeout: 3 * time.Second, WaitTimeout: 3 * time.Second,
		Dial: s.dial,
		Sink: func(e event.Event) {
			s.mu.Lock()
			s.events = append(s.events, e)
			s.mu.Unlock()
		},
		PushImages: func(ctx context.Context, target string, auth RegistryAuth, out io.Writer) error {
			s.mu.Lock()
			s.pushed = append(s.pushed, auth)
			s.mu.Unlock()
			fmt.Fprintf(out, "pushed 1 image to %s\n", target)
			return nil
		},
	}
}

func (s *fakeSite) dial(ctx context.Context, h clusterfile.Host) (Remote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dialErr[h.IP]; err != nil {
		return nil, err
	}
	r, ok := s.hosts[h.IP]
	if !ok {
		return nil, fmt.Errorf("host %s: no such fake host", h.IP)
	}
	s.dials++
	return r, nil
}

// mark is where the events and the calls of every host are now; since
// reads what came after it.
type mark struct {
	events int
	calls  map[string]int
}

func (s *fakeSite) mark() mark {
	s.mu.Lock()
	m := mark{events: len(s.events), calls: map[string]int{}}
	s.mu.Unlock()
	for ip, r := range s.hosts {
		m.calls[ip] = len(r.Calls())
	}
	return m
}

// eventsSince lists the events after m that keep selects (all for nil).
func (s *fakeSite) eventsSince(m mark, keep func(event.Event) bool) []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event.Event
	for _, e := range s.events[m.events:] {
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// callsSince lists host i's calls after m.
func (s *fakeSite) callsSince(m mark, i int) []sshtest.Call {
	return s.host(i).Calls()[m.calls[s.ips[i]]:]
}

// scriptsSince lists the first lines of the scripts host i ran after m.
func (s *fakeSite) scriptsSince(m mark, i int) []string {
	var out []string
	for _, c := range s.callsSince(m, i) {
		if c.Op == "run" {
			out = append(out, firstLine(c.Script))
		}
	}
	return out
}

// writesSince lists the paths host i was written after m.
func (s *fakeSite) writesSince(m mark, i int) []string {
	var out []string
	for _, c := range s.callsSince(m, i) {
		if c.Op == "write" || c.Op == "rename" {
			out = append(out, c.Path)
		}
	}
	return out
}

// steps are the state's records.
func (s *fakeSite) steps() []string {
	s.t.Helper()
	st, err := LoadState(filepath.Join(s.dir, ".sealpack"), "unit")
	if err != nil {
		s.t.Fatal(err)
	}
	return st.Steps()
}

// logs is every log file of the runs so far, concatenated.
func (s *fakeSite) logs() string {
	files, _ := filepath.Glob(filepath.Join(s.dir, ".sealpack", "logs", "*.log"))
	var b bytes.Buffer
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// joinNames lists names, sorted, as one string (for messages).
func joinNames(names []string) string {
	names = append([]string(nil), names...)
	sort.Strings(names)
	return strings.Join(names, ", ")
}
