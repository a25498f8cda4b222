package deployer

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer/ssh/sshtest"
)

// secretCluster logs in with a password, raises with another, pulls from
// the site's registry with a third; host 3 joins later, as a master.
const secretCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: unit}
spec:
  ssh: {user: deploy, passwd: Ssh-Pa55word, sudoPasswd: Sud0-Secret}
  registry:
    externalRegistry: {domain: reg.example.com, username: puller, password: Reg-Pa55word}
  hosts:
  - ips: [{{0}}, {{1}}]
    roles: [master]
  - ips: [{{2}}]
    roles: [node]
`

var withMaster3 = strings.Replace(secretCluster, "[{{0}}, {{1}}]", "[{{0}}, {{1}}, {{3}}]", 1)

// leaks names the places outside files written to hosts where a secret
// shows: the scripts the hosts ran and their environment (what reaches a
// host's command lines), the log files, the events, the state.
func (s *fakeSite) leaks(m mark, secrets map[string]string) []string {
	var out []string
	look := func(where, text string) {
		for name, secret := range secrets {
			if strings.Contains(text, secret) {
				out = append(out, name+" in "+where)
			}
		}
	}
	for i, ip := range s.ips {
		for _, c := range s.callsSince(m, i) {
			look(ip+"'s script "+firstLine(c.Script), c.Script)
			for k, v := range c.Env {
				look(ip+"'s environment "+k, v)
			}
		}
	}
	look("the logs", s.logs())
	for _, e := range s.eventsSince(m, nil) {
		look("an event of "+e.Phase, e.Message)
	}
	state, _ := os.ReadFile(filepath.Join(s.dir, ".sealpack", "state.json"))
	look("state.json", string(state))
	return out
}

// written is what host i was last sent for a path that re matches (the
// copy beside it, before its rename), with its mode.
func written(s *fakeSite, i int, re string) (data string, mode uint32, ok bool) {
	for _, c := range s.host(i).Calls() {
		if c.Op == "write" && regexp.MustCompile(re).MatchString(c.Path) {
			data, mode, ok = string(c.Data), c.Mode, true
		}
	}
	return data, mode, ok
}

// Passwords, the bootstrap token and the certificate keys never reach a
// log, an event, the state or a host's command line, even when a host
// prints them; they travel in files readable by root alone, where they are
// needed.
func TestUnitSecretsStayHidden(t *testing.T) {
	ctx := context.Background()
	s := newFakeSite(t, 4, fakePayload{cmds: []string{"kubectl apply -f manifests/", "./show-config"}})
	// A CMD line and a host script that print secrets they were given.
	s.host(0).On(`\Acd `+RootfsDir+`\n\./show-config\z`, sshtest.Reply{Stdout: "registry login puller:Reg-Pa55word ok\n"})
	s.host(2).Handle(`> `+markerPath+`\n\z`, func(ctx context.Context, h *sshtest.Recorder, c sshtest.Call) sshtest.Reply {
		markCluster(ctx, h, c)
		return sshtest.Reply{Stdout: "sshpass -p Ssh-Pa55word, sudo -S <<< Sud0-Secret\n"}
	})
	opts := s.opts()
	opts.ClusterRegistry = true // the images go to the site's registry
	m := s.mark()
	if err := Apply(ctx, s.cluster(secretCluster), opts); err != nil {
		t.Fatalf("install: %v", err)
	}
	initCfg, mode, ok := written(s, 0, `/kubeadm-init\.\w+\.yaml`)
	key := certKeyIn.FindStringSubmatch(initCfg)
	if !ok || mode != 0o600 || key == nil {
		t.Fatalf("kubeadm init's configuration: mode %o, %v:\n%s", mode, ok, initCfg)
	}
	secrets := map[string]string{"the SSH password": "Ssh-Pa55word", "the sudo password": "Sud0-Secret",
		"the registry password": "Reg-Pa55word", "the bootstrap token": strings.Split(fakeToken, ".")[1], "the certificate key": key[1]}
	for _, l := range s.leaks(m, secrets) {
		t.Error(l)
	}

	// Where the secrets must go, they went, for root's eyes only.
	for _, want := range []struct {
		host       int
		path, text string
	}{
		{1, `/kubeadm-join\.\w+\.yaml`, fakeToken},
		{1, `/kubeadm-join\.\w+\.yaml`, key[1]},
		{2, `/kubeadm-join\.\w+\.yaml`, fakeToken},
		{0, `/containerd-registry-auth\.toml`, `password = "Reg-Pa55word"`},
		{2, `/containerd-registry-auth\.toml`, `password = "Reg-Pa55word"`},
	} {
		data, mode, ok := written(s, want.host, want.path)
		if !ok || mode != 0o600 || !strings.Contains(data, want.text) {
			t.Errorf("host %d: %s (mode %o, written %v) lacks %q:\n%s", want.host, want.path, mode, ok, want.text, data)
		}
	}
	if len(s.pushed) != 1 || s.pushed[0].Password != "Reg-Pa55word" {
		t.Errorf("the push was given %+v", s.pushed)
	}
	// What was printed is logged, with its secrets hidden.
	logs := s.logs()
	for _, want := range []string{"--token ******", "registry login puller:****** ok", "sshpass -p ******, sudo -S <<< ******"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %q", want)
		}
	}

	// A master joined by a later run needs a fresh certificate key, which
	// kubeadm prints among its output: that output is not logged.
	m = s.mark()
	if err := Join(ctx, s.cluster(withMaster3), s.ips[3:], s.opts()); err != nil {
		t.Fatalf("join: %v", err)
	}
	if data, mode, _ := written(s, 3, `/kubeadm-join\.\w+\.yaml`); mode != 0o600 || !strings.Contains(data, fakeUploadedKey) {
		t.Errorf("the joined master's configuration (mode %o) lacks the uploaded key:\n%s", mode, data)
	}
	for _, l := range s.leaks(m, map[string]string{"the uploaded certificate key": fakeUploadedKey, "the bootstrap token": strings.Split(fakeToken, ".")[1]}) {
		t.Error(l)
	}
}
