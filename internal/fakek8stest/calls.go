package fakek8stest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// CallsFile is where the fake records its invocations, under its state
// root.
const CallsFile = "/var/lib/fakek8s/calls.jsonl"

// Call is one recorded invocation. Secrets (bootstrap token secrets,
// certificate keys, variables named like passwords or keys) are recorded
// as "<redacted>"; a token keeps its public ID ("abcdef.<redacted>").
type Call struct {
	Time       string            `json:"time"`
	Host       string            `json:"host"`
	PID        int               `json:"pid"`
	Command    string            `json:"command"` // kubeadm, kubectl, kubelet, kube-apiserver
	Argv       []string          `json:"argv"`
	Cwd        string            `json:"cwd"`
	Env        map[string]string `json:"env"`  // KUBECONFIG, HOME, USER, SUDO_USER, SEALPACK_*, FAKEK8S_*
	Exit       *int              `json:"exit"` // nil for daemons (recorded when they start)
	DurationMS int64             `json:"durationMs"`
	Daemon     bool              `json:"daemon"`
}

// Line is the argv joined by spaces.
func (c Call) Line() string { return strings.Join(c.Argv, " ") }

// ParseCalls reads calls.jsonl.
func ParseCalls(r io.Reader) ([]Call, error) {
	var calls []Call
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("calls.jsonl line %d: %w", n, err)
		}
		calls = append(calls, c)
	}
	return calls, sc.Err()
}
