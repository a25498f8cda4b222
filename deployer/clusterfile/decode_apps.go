package clusterfile

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// appNames reads spec.appNames: app names, each once. Whether the
// installer carries them is the deployer's check (it holds the payload).
func (r *report) appNames(n *yaml.Node, path string) []string {
	out := []string{}
	seen := map[string]int{}
	r.list(n, path, func(i int, v *yaml.Node) {
		p := idx(path, i)
		name := strings.TrimSpace(r.str(v, p))
		switch first, dup := seen[name]; {
		case name == "":
			r.errorf(v.Line, p, "empty app name")
		case dup:
			r.errorf(v.Line, p, "app %s is named twice (first at line %d)", name, first)
		default:
			seen[name] = v.Line
			out = append(out, name)
		}
	})
	return out
}
