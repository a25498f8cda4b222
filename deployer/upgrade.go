package deployer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/deployer/event"
)

// checkUpgrade compares this installer with the one of the last completed
// install: the same one is a no-op run (every step already done), a newer
// one an upgrade (the steps whose inputs changed run again: changed files
// are sent, the masters' registries get the new blobs, the CMD lines run),
// an older one is refused unless Options.AllowDowngrade.
func (r *run) checkUpgrade() error {
	prev := r.state.Installed()
	cur := r.installerID()
	if prev == nil || prev.Digest == cur.Digest {
		return nil
	}
	order, ok := compareVersions(cur.Version, prev.Version)
	var msg string
	switch {
	case ok && order < 0 && !r.opts.AllowDowngrade:
		return fmt.Errorf("this installer is %s, older than %s installed on the cluster: a downgrade is refused (run with --allow-downgrade to install it anyway)", cur, prev)
	case ok && order < 0:
		msg = fmt.Sprintf("downgrade from %s to %s (--allow-downgrade)", prev, cur)
	case ok && order == 0:
		msg = fmt.Sprintf("%s again, rebuilt (another installer of the same version): the steps whose inputs changed run again", cur)
	case ok:
		msg = fmt.Sprintf("upgrade from %s to %s: the steps whose inputs changed run again", prev, cur)
	default:
		msg = fmt.Sprintf("%s over %s (versions that do not compare): the steps whose inputs changed run again", cur, prev)
	}
	r.logs.Printf(event.Preflight, "", "%s", msg)
	r.emit(event.Event{Type: event.Log, Phase: event.Preflight, Message: msg})
	return nil
}

// compareVersions orders versions like 1.2.10 > 1.2.9 (a leading v and a
// -suffix allowed; a version with a suffix comes before the same one
// without); ok is false when either is not of that form.
func compareVersions(a, b string) (order int, ok bool) {
	pa, sa, okA := parseVersion(a)
	pb, sb, okB := parseVersion(b)
	if !okA || !okB {
		return 0, false
	}
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	switch {
	case sa == sb:
		return 0, true
	case sa == "":
		return 1, true
	case sb == "":
		return -1, true
	case sa < sb:
		return -1, true
	default:
		return 1, true
	}
}

func parseVersion(v string) (parts []int, suffix string, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	v, suffix, _ = strings.Cut(v, "-")
	v, _, _ = strings.Cut(v, "+")
	if v == "" {
		return nil, "", false
	}
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, "", false
		}
		parts = append(parts, n)
	}
	return parts, suffix, true
}
