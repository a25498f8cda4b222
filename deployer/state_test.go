package deployer

import (
	"strings"
	"testing"
)

// A state directory belongs to one cluster while it records anything of
// it; once reset has forgotten everything, another cluster may use it.
func TestStateOwnedByOneCluster(t *testing.T) {
	dir := t.TempDir()
	st, err := LoadState(dir, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkInputs("distribute", "10.0.0.1", "abc", "sha256:1"); err != nil {
		t.Fatal(err)
	}
	_, err = LoadState(dir, "new")
	if err == nil || !strings.Contains(err.Error(), `reset "old"`) {
		t.Fatalf("another cluster over a recorded one: %v, want an error that says how to go on", err)
	}
	if err := st.Forget("*"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadState(dir, "new"); err != nil {
		t.Fatalf("after a reset another cluster is refused: %v", err)
	}
	st, _ = LoadState(dir, "new")
	if done, why := st.Current("distribute", "10.0.0.1", "abc"); done || why != "" {
		t.Errorf("a forgotten step is done=%v (%q)", done, why)
	}
	st.MarkInputs("distribute", "10.0.0.1", "abc", "sha256:1")
	if done, _ := st.Current("distribute", "10.0.0.1", "abc"); !done {
		t.Error("a step with the same inputs is not done")
	}
	if done, why := st.Current("distribute", "10.0.0.1", "xyz"); done || !strings.Contains(why, "inputs changed") {
		t.Errorf("a step with other inputs: done=%v %q", done, why)
	}
}
