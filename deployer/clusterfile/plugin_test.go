package clusterfile

import (
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
		{"type: LABEL\n  action: PostInstall", nil, nil, `plugin type "LABEL" is not implemented by sealpack (only SHELL)`},
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
