package depcheck

import (
	"slices"
	"strings"
)

// graph is an import graph: the module's packages and everything they
// import, their tests' imports included.
type graph struct {
	module   string           // the project's module path
	packages map[string]*node // by import path
}

// node is one package of the graph.
type node struct {
	project bool     // a package of the module (the rest are std or external)
	imports []string // of its non-test files, on every platform
	tests   []string // of its _test.go files, package and external tests
}

// abs turns a rule's name into an import path: project names are relative
// to the module, std and external ones (a dot in the first element) are not.
func (g *graph) abs(name string) string {
	if name == std || !isStd(name) {
		return name
	}
	return g.module + "/" + name
}

// rel is the inverse of abs, for messages.
func (g *graph) rel(path string) string {
	if r, ok := strings.CutPrefix(path, g.module+"/"); ok {
		return r
	}
	return path
}

// exists reports whether pattern matches a package of the graph.
func (g *graph) exists(pattern string) bool {
	for path := range g.packages {
		if match(pattern, path) {
			return true
		}
	}
	return false
}

func (g *graph) projectPackages() []string {
	var out []string
	for path, n := range g.packages {
		if n.project {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// reach is a breadth-first walk over non-test imports from one package:
// order lists what it reaches, nearest first; via leads each one back.
type reach struct {
	order []string
	via   map[string]string
}

func (g *graph) chains(root string) reach {
	r := reach{via: map[string]string{root: ""}}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		n := g.packages[p]
		if n == nil {
			continue
		}
		for _, imp := range n.imports {
			if _, seen := r.via[imp]; !seen {
				r.via[imp] = p
				r.order = append(r.order, imp)
				queue = append(queue, imp)
			}
		}
	}
	return r
}

// chain renders the import chain to path: "stub -> registry -> helm.sh/...".
func (g *graph) chain(r reach, path string) string {
	var names []string
	for p := path; p != ""; p = r.via[p] {
		names = append(names, g.rel(p))
	}
	slices.Reverse(names)
	return strings.Join(names, " -> ")
}
