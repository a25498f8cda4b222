package tui

import (
	"time"

	"github.com/sealpack/sealpack/deployer/event"
)

// phaseWeights say roughly how long each phase takes next to the others,
// for the estimate of the time left. Moving the images dominates.
var phaseWeights = map[string]float64{
	event.Preflight: 1, event.Distribute: 6, event.HostInit: 2, event.Registry: 3,
	event.InitMaster0: 3, event.JoinMasters: 2, event.JoinNodes: 2, event.Apps: 2, event.Verify: 1,
	// Nothing on a new cluster, which is what the estimate is for.
	event.UpgradeKubernetes: 0,
}

// phaseRow is one phase of the install.
type phaseRow struct {
	name     string
	status   rowStatus
	started  time.Time
	ended    time.Time
	total    int // hosts, from the phase-start event
	done     int // hosts done or skipped
	running  []string
	expected string // what the phase will cover, shown before it starts
	msg      string // the phase's failure
	bytes    map[string][2]int64
}

func (p *phaseRow) moved() (done, total int64) {
	for _, b := range p.bytes {
		done += b[0]
		total += b[1]
	}
	return
}

// fraction is how much of the phase is done, from bytes when it moves
// bytes, else from hosts.
func (p *phaseRow) fraction() float64 {
	switch p.status {
	case statusOK, statusSkip:
		return 1
	case statusPending:
		return 0
	}
	if d, t := p.moved(); t > 0 {
		return float64(d) / float64(t)
	}
	if p.total > 0 {
		return float64(p.done) / float64(p.total)
	}
	return 0
}

// eta estimates the time left from the weighted share of work done.
func (s *installScreen) eta(elapsed time.Duration) string {
	var total, done float64
	for _, p := range s.phases {
		if p.status == statusSkip {
			continue // took no time: it would make the rest look fast
		}
		w, ok := phaseWeights[p.name]
		if !ok {
			w = 1 // a phase this wizard does not know yet
		}
		total += w
		done += w * p.fraction()
	}
	if total == 0 || done/total < 0.02 || elapsed < 5*time.Second {
		return "estimating…"
	}
	f := done / total
	left := time.Duration(float64(elapsed) * (1 - f) / f)
	return "~" + clock(left) + " left"
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func remove(list []string, s string) []string {
	for i, x := range list {
		if x == s {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func countOrNone(n int, one, many string) string {
	if n == 0 {
		return "none"
	}
	return plural(n, one, many)
}
