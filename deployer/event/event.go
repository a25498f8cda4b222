// Package event holds what the deployer reports while it works: typed events
// that the unattended output, --json and the wizard all render. It imports
// nothing, so the wizard can use it without pulling in SSH.
package event

import "time"

// Type says what happened.
type Type string

const (
	PhaseStart Type = "phase-start" // a phase begins (Phase; Total = hosts, or bytes for distribute)
	PhaseDone  Type = "phase-done"  // a phase ended well
	PhaseSkip  Type = "phase-skip"  // a phase had nothing to do (already done)
	PhaseFail  Type = "phase-fail"  // a phase failed (Message)
	HostStart  Type = "host-start"  // a phase began on a host
	HostDone   Type = "host-done"   // a phase ended well on a host
	HostSkip   Type = "host-skip"   // a step on a host was already done
	HostFail   Type = "host-fail"   // a phase failed on a host (Message)
	Check      Type = "check"       // a preflight check finished (Check, Status, Message)
	Log        Type = "log"         // a line of a host's output (Message)
	Progress   Type = "progress"    // bytes moved (Done, Total)
	Plan       Type = "plan"        // dry-run: what a phase would change (Message)
	Done       Type = "done"        // the whole run ended (Status, Message)
	Waiting    Type = "waiting"     // a phase still waits for the cluster (Message: for what)
)

// Status of a check or of a run.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Phase names, in install order.
const (
	Preflight   = "preflight"
	Distribute  = "distribute"
	HostInit    = "host-init"
	Registry    = "registry"
	InitMaster0 = "init-master0"
	// UpgradeKubernetes follows kubeadm's upgrade path when the cluster
	// runs another Kubernetes than the installer carries (nothing to do on
	// a new cluster).
	UpgradeKubernetes = "upgrade-kubernetes"
	JoinMasters       = "join-masters"
	JoinNodes         = "join-nodes"
	Apps              = "apps"
	Verify            = "verify"
	// Used by join, delete and reset.
	Drain     = "drain"
	CleanHost = "clean-host"
)

// InstallPhases is the order of an install.
var InstallPhases = []string{Preflight, Distribute, HostInit, Registry, InitMaster0, UpgradeKubernetes, JoinMasters, JoinNodes, Apps, Verify}

// Event is one thing the deployer reports.
type Event struct {
	Time    time.Time `json:"time"`
	Type    Type      `json:"type"`
	Phase   string    `json:"phase,omitempty"`
	Host    string    `json:"host,omitempty"`
	Check   string    `json:"check,omitempty"`
	Status  Status    `json:"status,omitempty"`
	Message string    `json:"message,omitempty"`
	Done    int64     `json:"done,omitempty"`
	Total   int64     `json:"total,omitempty"`
}

// Sink receives events. Implementations must be safe for concurrent use:
// phases run over hosts in parallel.
type Sink func(Event)
