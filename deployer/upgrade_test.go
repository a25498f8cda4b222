package deployer

import (
	"testing"

	"github.com/sealpack/sealpack/deployer/event"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b  string
		order int
		ok    bool
	}{
		{"1.1", "1.0", 1, true},
		{"1.0", "1.1", -1, true},
		{"1.2.10", "1.2.9", 1, true},
		{"v1.34.3", "1.34.3", 0, true},
		{"1.0", "1.0.0", 0, true},
		{"1.1-rc.1", "1.1", -1, true},
		{"1.1", "1.1-rc.1", 1, true},
		{"1.1-rc.2", "1.1-rc.1", 1, true},
		{"1.1+build5", "1.1", 0, true},
		{"latest", "1.0", 0, false},
		{"", "1.0", 0, false},
		{"1.x", "1.0", 0, false},
	}
	for _, tc := range cases {
		order, ok := compareVersions(tc.a, tc.b)
		if order != tc.order || ok != tc.ok {
			t.Errorf("compareVersions(%q, %q) = %d, %v; want %d, %v", tc.a, tc.b, order, ok, tc.order, tc.ok)
		}
	}
}

// installPhases runs exactly event.InstallPhases, in its order: the
// wizard's rows and the run cannot disagree.
func TestInstallPhasesAreTheEventList(t *testing.T) {
	ps := installPhases()
	if len(ps) != len(event.InstallPhases) {
		t.Fatalf("%d phases, event.InstallPhases has %d", len(ps), len(event.InstallPhases))
	}
	for i, p := range ps {
		if p.Name() != event.InstallPhases[i] {
			t.Errorf("phase %d is %s, want %s", i, p.Name(), event.InstallPhases[i])
		}
	}
}
