package deployer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// containerdConfScript leaves a config that already reads certs.d as it is
// and adds config_path (and the import of conf.d, with credentials) where
// it is missing, whatever else the file holds.
func TestContainerdConfScript(t *testing.T) {
	cases := []struct {
		name, config string
		creds        bool
		want         []string // in the result, in this order
		unchanged    bool
		fails        string
	}{
		{name: "no file: a minimal one", want: []string{"version = 2", `[plugins."io.containerd.grpc.v1.cri".registry]`, `config_path = "/etc/containerd/certs.d"`}},
		{name: "config_path already there", config: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n", unchanged: true},
		{name: "the registry table without config_path", config: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  foo = 1\n[other]\n",
			want: []string{`[plugins."io.containerd.grpc.v1.cri".registry]`, `config_path = "/etc/containerd/certs.d"`, "foo = 1", "[other]"}},
		{name: "no registry table", config: "version = 2\nroot = \"/var/lib/containerd\"\n",
			want: []string{`root = "/var/lib/containerd"`, `[plugins."io.containerd.grpc.v1.cri".registry]`, `config_path`}},
		{name: "containerd 2 schema", config: "version = 3\n", want: []string{"version = 3", `[plugins."io.containerd.cri.v1.images".registry]`, "config_path"}},
		{name: "credentials: a block at the end", config: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n", creds: true,
			want: []string{"version = 2", "config_path", authBegin, `password = "x"`, authEnd}},
		{name: "credentials replaced", config: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n" + authBegin + "\nold\n" + authEnd + "\n[after]\n", creds: true,
			want: []string{"config_path", "[after]", authBegin, `password = "x"`, authEnd}},
		{name: "credentials removed", config: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n" + authBegin + "\nold\n" + authEnd + "\n",
			want: []string{"config_path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			script := strings.ReplaceAll(containerdConfScript, "/etc/containerd", dir)
			script = strings.ReplaceAll(script, "/run/systemd/system", filepath.Join(dir, "no-systemd"))
			script = strings.ReplaceAll(script, containerdAuthPath, filepath.Join(dir, "auth.toml"))
			f := filepath.Join(dir, "config.toml")
			if tc.config != "" {
				os.WriteFile(f, []byte(tc.config), 0o644)
			}
			if tc.creds {
				os.WriteFile(filepath.Join(dir, "auth.toml"), authTOML(map[string][2]string{"10.0.0.1:5000": {"u", "x"}}), 0o600)
			}
			out, err := exec.Command("sh", "-c", "set -e\n"+script).CombinedOutput()
			if tc.fails != "" {
				if err == nil || !strings.Contains(string(out), tc.fails) {
					t.Fatalf("want a failure naming %q, got %v: %s", tc.fails, err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got, _ := os.ReadFile(f)
			text := strings.ReplaceAll(string(got), dir, "/etc/containerd")
			if tc.unchanged && text != tc.config {
				t.Fatalf("changed a config that reads certs.d already:\n%s", text)
			}
			rest := text
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("no %q (in order) in:\n%s", w, text)
				}
				rest = rest[i+len(w):]
			}
			if strings.Count(text, "config_path") != 1 || strings.Contains(text, "old") || strings.Count(text, authBegin) > 1 {
				t.Errorf("config_path %d times, or an old block left:\n%s", strings.Count(text, "config_path"), text)
			}
			if _, err := os.Stat(filepath.Join(dir, "auth.toml")); err == nil {
				t.Error("the credentials were left beside config.toml")
			}
			if st, _ := os.Stat(f); tc.creds && st.Mode().Perm() != 0o600 {
				t.Errorf("config.toml with credentials has mode %v", st.Mode().Perm())
			}
			// A second run, given the same credentials, changes nothing.
			if tc.creds {
				os.WriteFile(filepath.Join(dir, "auth.toml"), authTOML(map[string][2]string{"10.0.0.1:5000": {"u", "x"}}), 0o600)
			}
			again, _ := exec.Command("sh", "-c", "set -e\n"+script).CombinedOutput()
			if got2, _ := os.ReadFile(f); string(got2) != string(got) {
				t.Errorf("a second run changed the file (%s):\n%s", again, got2)
			}
		})
	}
}

func TestAuthTOML(t *testing.T) {
	got := string(authTOML(map[string][2]string{"10.0.0.2:5000": {"u", `p"w\` + "\n"}, "10.0.0.1:5000": {"u", "x"}}))
	want := authBegin + `: what containerd presents to the cluster's registries

[plugins."io.containerd.grpc.v1.cri".registry.configs."10.0.0.1:5000".auth]
  username = "u"
  password = "x"

[plugins."io.containerd.grpc.v1.cri".registry.configs."10.0.0.2:5000".auth]
  username = "u"
  password = "p\"w\\\u000A"
` + authEnd + "\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
