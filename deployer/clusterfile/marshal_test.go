package clusterfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// wizardCluster is what the wizard would build: secrets included.
func wizardCluster() *Cluster {
	return &Cluster{
		Name: "factory",
		SSH:  SSH{User: "ops", Passwd: "pw-default", SudoPasswd: "pw-sudo", Port: 22},
		Groups: []HostGroup{
			{IPs: []string{"10.1.0.1", "10.1.0.2", "10.1.0.3"}, Roles: []string{"master"}},
			{IPs: []string{"10.1.0.10", "10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.20"}, Roles: []string{"node", "gpu"},
				SSH: SSH{PK: "/home/ops/.ssh/id_ed25519", PKPasswd: "pw-key", Port: 2222, Bastion: &Bastion{Host: "jump.example", Passwd: "pw-jump"}},
				Env: []string{"GPU=1"}, Labels: map[string]string{"zone": "b", "accel": "true"},
				Taints: []Taint{{Key: "gpu", Value: "true", Effect: "NoSchedule"}}},
			{IPs: []string{"fd00::1"}, Roles: []string{"node"}},
		},
		Env:      []string{"TZ=Europe/Paris", "NOTE=a: b # c"},
		Registry: Registry{External: &ExternalRegistry{Domain: "harbor.example", Port: 443, Username: "robot", Password: "pw-registry"}},
		Plugins: []Plugin{{Name: "motd", Type: "SHELL", Actions: []Action{PostInitHost, PreCleanHost}, Scope: []string{"gpu", "10.1.0.1"},
			Data: "echo welcome > /etc/motd\nsync\n"}},
	}
}

func TestMarshalGolden(t *testing.T) {
	parsed, _ := parseFile(t, "valid", "sealpack-full.yaml")
	for name, c := range map[string]*Cluster{"wizard": wizardCluster(), "sealpack-full": parsed} {
		t.Run(name, func(t *testing.T) {
			out, err := Marshal(c, MarshalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("marshal", name+".golden"), out)
			for _, secret := range []string{"pw-", "secret\"", "key secret", "sudo secret", "db secret", "registry secret"} {
				if strings.Contains(string(out), secret) {
					t.Errorf("output holds a secret (%q)", secret)
				}
			}
			if !strings.Contains(string(out), PasswordEnv) {
				t.Error("output does not say where passwords come from")
			}
			// Written twice, the same bytes.
			again, _ := Marshal(c, MarshalOptions{})
			if string(again) != string(out) {
				t.Error("Marshal is not deterministic")
			}
			// Read back, it is the same cluster without its secrets.
			back, warnings, err := Parse("written", out)
			if err != nil {
				t.Fatalf("Marshal's output does not parse: %v\n%s", err, out)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings on Marshal's output: %v", warnings)
			}
			if got, want := comparable(back), comparable(withoutSecrets(c)); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestMarshalAPIVersion(t *testing.T) {
	out, err := Marshal(wizardCluster(), MarshalOptions{APIVersion: APIVersionCloud})
	if err != nil || !strings.Contains(string(out), "apiVersion: sealer.cloud/v2\n") {
		t.Errorf("err %v, output:\n%s", err, out)
	}
	if _, err := Marshal(wizardCluster(), MarshalOptions{APIVersion: "v9"}); err == nil {
		t.Error("a bad apiVersion is accepted")
	}
}

func withoutSecrets(c *Cluster) *Cluster {
	r := c.clone()
	strip := func(s *SSH) {
		s.Passwd, s.SudoPasswd, s.PKPasswd = "", "", ""
		if s.Bastion != nil {
			s.Bastion.Passwd, s.Bastion.PKPasswd = "", ""
		}
	}
	strip(&r.SSH)
	for i := range r.Groups {
		strip(&r.Groups[i].SSH)
	}
	if r.Registry.External != nil {
		r.Registry.External.Password = ""
	}
	return r
}

// comparable drops what depends on the layout of the text (lines, nodes)
// and what Marshal writes on purpose (the apiVersion).
func comparable(c *Cluster) *Cluster {
	r := c.clone()
	r.APIVersion = ""
	for i := range r.Groups {
		r.Groups[i].Line = 0
	}
	for i := range r.Plugins {
		r.Plugins[i].Line = 0
	}
	for i := range r.KubeadmDocs {
		y, _ := r.KubeadmDocs[i].YAML()
		r.KubeadmDocs[i] = KubeadmDoc{APIVersion: r.KubeadmDocs[i].APIVersion, Kind: string(y)}
	}
	if len(r.Plugins) == 0 {
		r.Plugins = nil
	}
	if len(r.KubeadmDocs) == 0 {
		r.KubeadmDocs = nil
	}
	return r
}

func TestRedacted(t *testing.T) {
	full, err := os.ReadFile(filepath.Join("testdata", "valid", "sealpack-full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	full = append(full, []byte("---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens: [{token: abcdef.0123456789abcdef}]\ncertificateKey: \"0123\"\n")...)
	c, _, err := Parse("Clusterfile", full)
	if err != nil {
		t.Fatal(err)
	}
	before := string(summary(c, nil))
	r := Redacted(c)
	got := string(summary(r, nil))
	for _, secret := range []string{"key secret", "sudo secret", "db secret", "registry secret", "abcdef.0123456789abcdef", `"0123"`} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted copy holds %q", secret)
		}
	}
	if !strings.Contains(got, `pkPasswd="******"`) || !strings.Contains(got, `token: '******'`) && !strings.Contains(got, "token: "+Mask) {
		t.Errorf("secrets are not masked:\n%s", got)
	}
	// Unset secrets stay empty, so a reviewer sees which are set.
	if !strings.Contains(got, `host fd00::30 roles=[node] master=false
  ssh user=deploy port=22 passwd="" sudo="******"`) {
		t.Errorf("unset password shown as set:\n%s", got)
	}
	if string(summary(c, nil)) != before {
		t.Error("Redacted changed the original")
	}
	golden(t, filepath.Join("marshal", "redacted.golden"), []byte(got))
}

func TestSecretsFromEnv(t *testing.T) {
	c := &Cluster{SSH: SSH{User: "ops", PK: "/k", SudoPasswd: "written"}}
	env := map[string]string{PasswordEnv: "pw", SudoPasswordEnv: "from-env", KeyPassphraseEnv: "phrase"}
	c.SecretsFromEnv(func(k string) string { return env[k] })
	if c.SSH.Passwd != "pw" || c.SSH.SudoPasswd != "written" || c.SSH.PKPasswd != "phrase" {
		t.Errorf("secrets %+v: the environment fills only what the file leaves empty", c.SSH)
	}
}
