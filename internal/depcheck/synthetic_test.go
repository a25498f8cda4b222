package depcheck

import (
	"slices"
	"strings"
)

const testModule = "example.com/sealpack"

// edge is an import added to a synthetic graph; names as in the rules
// (project packages relative to the module).
type edge struct {
	from, to string
	test     bool // from a _test.go file
}

// synthetic returns a graph that the given rules and bans accept: one
// package for each name they use (a stand-in "fmt" for std), no imports.
// Tests add edges to it and see which rule objects.
func synthetic(rules []rule, bans []ban) *graph {
	g := &graph{module: testModule, packages: map[string]*node{}}
	for _, r := range rules {
		g.add(r.pkg)
		for _, p := range slices.Concat(r.imports, r.tests) {
			g.add(p)
		}
	}
	for _, b := range bans {
		g.add(b.pkg)
		for _, p := range b.banned {
			g.add(p)
		}
	}
	return g
}

// add puts the package a name (or the root of a "/..." pattern) stands for
// into g, if it is not there yet, and returns its import path.
func (g *graph) add(name string) string {
	path := strings.TrimSuffix(g.abs(name), "/...")
	if name == std {
		path = "fmt"
	}
	if g.packages[path] == nil {
		g.packages[path] = &node{project: strings.HasPrefix(path, g.module+"/")}
	}
	return path
}

// with returns a copy of g with edges added (their ends created as needed).
func (g *graph) with(edges ...edge) *graph {
	c := &graph{module: g.module, packages: map[string]*node{}}
	for path, n := range g.packages {
		cp := *n
		c.packages[path] = &cp
	}
	for _, e := range edges {
		from, to := c.add(e.from), c.add(e.to)
		n := c.packages[from]
		if e.test {
			n.tests = append(slices.Clip(n.tests), to)
		} else {
			n.imports = append(slices.Clip(n.imports), to)
		}
	}
	return c
}

// cloneRules copies rules deeply, so a test can break one without touching
// the package's table.
func cloneRules(rs []rule) []rule {
	out := slices.Clone(rs)
	for i := range out {
		out[i].imports = slices.Clone(out[i].imports)
		out[i].tests = slices.Clone(out[i].tests)
	}
	return out
}

func cloneBans(bs []ban) []ban {
	out := slices.Clone(bs)
	for i := range out {
		out[i].banned = slices.Clone(out[i].banned)
	}
	return out
}
