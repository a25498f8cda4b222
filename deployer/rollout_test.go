package deployer

import (
	"encoding/json"
	"testing"
)

func TestWorkloadRolledOut(t *testing.T) {
	tests := []struct {
		kind, obj string
		want      bool
		why       string
	}{
		{"deployment", `{"metadata":{"generation":2},"spec":{"replicas":2},"status":{"observedGeneration":2,"updatedReplicas":2,"availableReplicas":2}}`, true, ""},
		{"deployment", `{"metadata":{"generation":2},"spec":{"replicas":2},"status":{"observedGeneration":2,"updatedReplicas":2,"availableReplicas":1}}`, false, "1/2 available"},
		{"deployment", `{"metadata":{"generation":3},"spec":{"replicas":1},"status":{"observedGeneration":2,"updatedReplicas":1,"availableReplicas":1}}`, false, "not yet seen by its controller"},
		{"deployment", `{"metadata":{"generation":1},"status":{"observedGeneration":1}}`, false, "0/1 available"},
		{"deployment", `{"metadata":{"generation":1},"spec":{"replicas":0},"status":{"observedGeneration":1}}`, true, ""},
		{"daemonset", `{"metadata":{"generation":1},"status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":2}}`, false, "2/3 available"},
		{"daemonset", `{"metadata":{"generation":1},"status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":3}}`, true, ""},
		{"statefulset", `{"metadata":{"generation":1},"spec":{"replicas":3},"status":{"observedGeneration":1,"readyReplicas":3,"updatedReplicas":3}}`, true, ""},
		{"statefulset", `{"metadata":{"generation":1},"spec":{"replicas":3},"status":{"observedGeneration":1,"readyReplicas":2,"updatedReplicas":3}}`, false, "2/3 ready"},
		{"job", `{"metadata":{"generation":1},"status":{"conditions":[{"type":"Complete","status":"True"}]}}`, true, ""},
		{"job", `{"metadata":{"generation":1},"spec":{"completions":2},"status":{"succeeded":1}}`, false, "1/2 succeeded"},
	}
	for _, tt := range tests {
		var w workload
		if err := json.Unmarshal([]byte(tt.obj), &w); err != nil {
			t.Fatal(err)
		}
		got, why := w.rolledOut(tt.kind)
		if got != tt.want || (!got && why != tt.why) {
			t.Errorf("%s %s: rolledOut = %v %q, want %v %q", tt.kind, tt.obj, got, why, tt.want, tt.why)
		}
	}
}
