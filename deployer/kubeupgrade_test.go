package deployer

import (
	"strings"
	"testing"
)

func TestKubeUpgradePath(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		refused  string // "" when kubeadm can
	}{
		{"v1.34.3", "v1.35.4", ""},
		{"v1.34.3", "v1.34.4", ""},
		{"v1.34.3", "v1.34.3", ""},
		{"v1.34.3", "v1.36.0", "one minor version at a time; install an installer of v1.35.x first"},
		{"v1.35.4", "v1.34.3", "cannot downgrade"},
		{"v1.34.3", "v1.34.2", "cannot downgrade"},
		{"v1.34.3", "v2.0.0", "one minor version at a time"},
		{"v1.34.3", "latest", "cannot compare"},
		{"v1", "v1.35.0", "cannot compare"},
	} {
		err := kubeUpgradePath(tc.from, tc.to)
		if tc.refused == "" && err != nil || tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)) {
			t.Errorf("%s to %s: %v, want %q", tc.from, tc.to, err, tc.refused)
		}
	}
}
