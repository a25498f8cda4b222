package clusterfile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParsePluginActions(t *testing.T) {
	tests := []struct {
		spec    string
		actions []Action
		scope   []string
		warning string // part of the only warning, or "" for none
	}{
		{"type: SHELL\n  action: PreInit", []Action{PostInitHost}, nil, ""},
		{"type: SHELL\n  action: Originally", []Action{PreInitHost}, nil, ""},
		{"type: SHELL\n  action: PostInstall", []Action{PostInstall}, nil, ""},
		{"type: SHELL\n  action: PreJoin|PostJoin", []Action{PreScaleUp, PostScaleUp}, nil, ""},
		{"type: SHELL\n  action: PreClean|post-clean-host|PostClean", []Action{PreCleanHost, PostCleanHost}, nil, ""},
		{"type: SHELL\n  action: pre-init-host\n  on: 10.0.0.1-10.0.0.2,node", []Action{PreInitHost}, []string{"10.0.0.1", "10.0.0.2", "node"}, ""},
		{"type: SHELL\n  action: pre-init-host\n  scope: master0", []Action{PreInitHost}, []string{"master0"}, ""},
		{"type: SHELL\n  action: post-install|upgrade", []Action{PostInstall}, nil, "upgrade (sealer's upgrade) is not implemented"},
		{"type: SHELL\n  action: PreGuest", nil, nil, "PreGuest (sealer's stage between join and the applications) is not implemented"},
		{"type: SHELL\n  action: pre-init-host\n  scope: gpu", []Action{PreInitHost}, []string{"gpu"}, `no host has the role "gpu"`},
		{"type: SHELL\n  action: pre-init-host\n  scope: 10.9.9.9", []Action{PreInitHost}, []string{"10.9.9.9"}, "10.9.9.9 is not a host of this cluster"},
		{"type: ETCD\n  action: PostInstall", nil, nil, `plugin type "ETCD" is not implemented by sealpack`},
		{"type: CLUSTERCHECK\n  action: PostInstall", nil, nil, `plugin type "CLUSTERCHECK" is not implemented by sealpack`},
		{"action: PostInstall\n  on: role=node", nil, nil, "label selectors (role=node) are not implemented"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.spec, "\n  ", " "), func(t *testing.T) {
			in := head + "  hosts:\n    - ips: [10.0.0.1, 10.0.0.2]\n      roles: [master, node]\n---\napiVersion: sealer.io/v1\nkind: Plugin\nmetadata: {name: SHELL}\nspec:\n  data: echo\n  " + tt.spec + "\n"
			c, warnings, err := Parse("Clusterfile", []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.warning == "" && len(warnings) > 0:
				t.Errorf("warnings %v", warnings)
			case tt.warning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0].String(), tt.warning)):
				t.Errorf("warnings %v, want one with %q", warnings, tt.warning)
			}
			if tt.actions == nil {
				if len(c.Plugins) != 0 {
					t.Errorf("plugin kept: %+v", c.Plugins)
				}
				return
			}
			if len(c.Plugins) != 1 {
				t.Fatalf("plugins %+v", c.Plugins)
			}
			p := c.Plugins[0]
			if !slices.Equal(p.Actions, tt.actions) || !slices.Equal(p.Scope, tt.scope) || p.Type != "SHELL" {
				t.Errorf("plugin %+v, want actions %v scope %v", p, tt.actions, tt.scope)
			}
		})
	}
}

// pluginDoc is a Clusterfile of hosts 10.0.0.1 (master) and 10.0.0.2-3
// (nodes) with one Plugin document of spec; its data starts on line 17.
func pluginDoc(spec string) string {
	return head + "  hosts:\n    - ips: [10.0.0.1]\n      roles: [master]\n    - ips: [10.0.0.2, 10.0.0.3]\n      roles: [node]\n---\napiVersion: sealer.io/v1\nkind: Plugin\nmetadata: {name: p}\nspec:\n" + spec
}

// HOSTNAME, LABEL and TAINT data: sealer's lines and the clearer forms,
// ranges, removals, comments; every bad line is an error naming its line.
func TestParseNodePluginData(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []PluginLine // Line left out
		err        string
	}{
		{"sealer hostname", "  type: HOSTNAME\n  action: PreInit\n  data: |\n    10.0.0.1 master-0\n    10.0.0.2   node-0 # the first\n\n", []PluginLine{{IP: "10.0.0.1", Hostname: "master-0"}, {IP: "10.0.0.2", Hostname: "node-0"}}, ""},
		{"hostname by name only, other forms", "  data: |\n    10.0.0.1: master-0\n    10.0.0.2=node-0\n", []PluginLine{{IP: "10.0.0.1", Hostname: "master-0"}, {IP: "10.0.0.2", Hostname: "node-0"}}, ""},
		{"sealer label", "  type: LABEL\n  action: PostInstall\n  data: |\n    10.0.0.2 ssd=true,zone=a\n    10.0.0.3 ssd=true, example.com/old-\n", []PluginLine{
			{IP: "10.0.0.2", Labels: map[string]string{"ssd": "true", "zone": "a"}},
			{IP: "10.0.0.3", Labels: map[string]string{"ssd": "true"}, Unlabel: []string{"example.com/old"}}}, ""},
		{"label range", "  type: LABEL\n  data: \"10.0.0.2-10.0.0.3: tier=gold\"\n", []PluginLine{{IP: "10.0.0.2", Labels: map[string]string{"tier": "gold"}}, {IP: "10.0.0.3", Labels: map[string]string{"tier": "gold"}}}, ""},
		{"sealer taint", "  type: TAINT\n  action: PostInstall\n  data: |\n    10.0.0.2 key1=value1:NoSchedule,key2:NoExecute\n    10.0.0.1 node-role.kubernetes.io/control-plane:NoSchedule-\n", []PluginLine{
			{IP: "10.0.0.2", Taints: []Taint{{Key: "key1", Value: "value1", Effect: "NoSchedule"}, {Key: "key2", Effect: "NoExecute"}}},
			{IP: "10.0.0.1", Taints: []Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule", Remove: true}}}}, ""},
		{"bad hostname", "  type: HOSTNAME\n  data: |\n    10.0.0.1 master-0\n    10.0.0.2 Node_0\n", nil, `Clusterfile:19: spec.data: plugin "p": line "10.0.0.2 Node_0": "Node_0" is not a valid host name`},
		{"hostname without name", "  type: HOSTNAME\n  data: |\n    10.0.0.2\n", nil, `Clusterfile:18: spec.data: plugin "p": line "10.0.0.2": nothing after the address`},
		{"bad address", "  type: LABEL\n  data: |\n    10.0.0.2 a=b\n    10.0.0.x a=b\n", nil, `Clusterfile:19: spec.data: plugin "p": line "10.0.0.x a=b": "10.0.0.x" is not an IP address`},
		{"bad label", "  type: LABEL\n  data: |\n    10.0.0.2 ssd\n", nil, `Clusterfile:18: spec.data: plugin "p": line "10.0.0.2 ssd": "ssd" is not a label: write key=value, or key- to remove one`},
		{"bad taint effect", "  type: TAINT\n  data: |\n    10.0.0.2 a=b:Never\n", nil, `Clusterfile:18: spec.data: plugin "p": line "10.0.0.2 a=b:Never":`},
		{"two names for a host", "  type: HOSTNAME\n  data: |\n    10.0.0.2 a\n    10.0.0.2 b\n", nil, `Clusterfile:19: spec.data: plugin "p": 10.0.0.2 is given a second host name (a by plugin "p")`},
		{"one name for two hosts", "  type: HOSTNAME\n  data: |\n    10.0.0.2 a\n    10.0.0.3 a\n", nil, `Clusterfile:19: spec.data: plugin "p": host name a is given to 10.0.0.3 and 10.0.0.2`},
		{"typo in action", "  type: LABEL\n  action: PostInstal\n  data: 10.0.0.2 a=b\n", nil, `spec.action: "PostInstal" is not a plugin action`},
		{"no data", "  type: TAINT\n  action: PostInstall\n", nil, `spec.data: missing: the plugin's lines`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if !strings.Contains(spec, "type:") {
				spec = strings.Replace(pluginDoc(spec), "{name: p}", "{name: HOSTNAME}", 1)
			} else {
				spec = pluginDoc(spec)
			}
			c, _, err := Parse("Clusterfile", []byte(spec))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Plugins) != 1 {
				t.Fatalf("plugins %+v", c.Plugins)
			}
			got := c.Plugins[0].Lines
			for i := range got {
				if got[i].Line < 17 {
					t.Errorf("line %d of %+v: not the data's", got[i].Line, got[i])
				}
				got[i].Line = 0
				if len(got[i].Labels) == 0 {
					got[i].Labels = nil
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// An EXEC plugin names an executable under plugins/; SHELL and EXEC keep
// their actions, HOSTNAME runs before the hosts are initialised and LABEL
// after they joined, whatever the action says.
func TestParsePluginTypes(t *testing.T) {
	tests := []struct {
		spec    string
		typ     string
		data    string
		actions []Action
		err     string
	}{
		{"  type: EXEC\n  action: post-install\n  data: plugins/check\n", PluginExec, "plugins/check", []Action{PostInstall}, ""},
		{"  type: exec\n  action: post-init-host\n  data: check\n", PluginExec, "plugins/check", []Action{PostInitHost}, ""},
		{"  type: EXEC\n  action: post-install\n  data: ./plugins/sub/check\n", PluginExec, "plugins/sub/check", []Action{PostInstall}, ""},
		{"  type: EXEC\n  action: post-install\n  data: bin/kubectl\n", "", "", nil, `Clusterfile:18: spec.data: plugin "p": "bin/kubectl" is not under the rootfs's plugins/ directory`},
		{"  type: EXEC\n  action: post-install\n  data: plugins/../bin/x\n", "", "", nil, `is not under the rootfs's plugins/ directory`},
		{"  type: EXEC\n  action: post-install\n  data: plugins/check --fast\n", "", "", nil, `an EXEC plugin's data is the path of one executable`},
		{"  type: EXEC\n  action: post-install\n", "", "", nil, `spec.data: missing: the path of the plugin's executable under plugins/`},
		{"  type: HOSTNAME\n  action: post-install\n  data: 10.0.0.1 m\n", PluginHostname, "10.0.0.1 m", []Action{PreInitHost}, ""},
		{"  type: label\n  data: 10.0.0.2 a=b\n", PluginLabel, "10.0.0.2 a=b", []Action{PostInstall, PostScaleUp}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			c, _, err := Parse("Clusterfile", []byte(pluginDoc(tt.spec)))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := c.Plugins[0]
			if p.Type != tt.typ || p.Data != tt.data || !slices.Equal(p.Actions, tt.actions) {
				t.Errorf("plugin %+v, want type %s data %q actions %v", p, tt.typ, tt.data, tt.actions)
			}
		})
	}
}

// A node plugin's scope is ignored with a warning, and an address that is
// no host of the cluster is a warning that names its line.
func TestNodePluginWarnings(t *testing.T) {
	_, warnings, err := Parse("Clusterfile", []byte(pluginDoc("  type: LABEL\n  scope: master\n  data: |\n    10.0.0.2 a=b\n    10.0.0.9 a=b\n")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	want := []string{`Clusterfile:17: spec.scope: plugin "p": a LABEL plugin's data names its hosts; the scope is ignored`,
		`Clusterfile:20: spec.data: plugin "p": 10.0.0.9 is not a host of this cluster`}
	if !slices.Equal(got, want) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
