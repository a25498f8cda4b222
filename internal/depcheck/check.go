package depcheck

import (
	"fmt"
	"slices"
	"strings"
)

// rule is the allow-list of one package or tree (see rules).
type rule struct {
	pkg     string
	imports []string // what its non-test files may import
	tests   []string // what its _test.go files may import besides
}

// ban keeps patterns out of the build closure (non-test, transitive) of
// every package under pkg.
type ban struct {
	pkg    string
	banned []string
	why    string
}

// check returns every broken rule in g, sorted: rules and entries that name
// no package, packages no rule covers (or two do), imports an allow-list does
// not name, and banned packages reachable through any chain of imports.
func check(g *graph, rules []rule, bans []ban) []string {
	var out []string
	out = append(out, checkNames(g, rules, bans)...)
	out = append(out, checkImports(g, rules)...)
	out = append(out, checkBans(g, bans)...)
	return out
}

// checkNames refuses names that match nothing: a misspelt rule would
// otherwise allow or ban nothing, silently.
func checkNames(g *graph, rules []rule, bans []ban) []string {
	var out []string
	missing := func(owner, kind, p string) {
		if p != std && !g.exists(g.abs(p)) {
			out = append(out, fmt.Sprintf("rule %s: %s %s names no package", owner, kind, p))
		}
	}
	for _, r := range rules {
		missing(r.pkg, "package", r.pkg)
		for _, p := range r.imports {
			missing(r.pkg, "allowed import", p)
		}
		for _, p := range r.tests {
			missing(r.pkg, "allowed test import", p)
		}
	}
	for _, b := range bans {
		missing(b.pkg, "banned closure of", b.pkg)
		for _, p := range b.banned {
			missing(b.pkg, "banned package", p)
		}
	}
	return out
}

// checkImports holds every project package to the one rule that covers it.
func checkImports(g *graph, rules []rule) []string {
	var out []string
	for _, path := range g.projectPackages() {
		var covering []rule
		for _, r := range rules {
			if match(g.abs(r.pkg), path) {
				covering = append(covering, r)
			}
		}
		name := g.rel(path)
		switch len(covering) {
		case 0:
			out = append(out, fmt.Sprintf("%s: no rule covers it (add one to rules.go, after DESIGN.md section 1)", name))
			continue
		case 1:
		default:
			out = append(out, fmt.Sprintf("%s: covered by %d rules (%s and %s); one must go", name, len(covering), covering[0].pkg, covering[1].pkg))
			continue
		}
		r := covering[0]
		p := g.packages[path]
		for _, imp := range p.imports {
			if !g.allowed(r, imp, false) {
				out = append(out, fmt.Sprintf("%s imports %s: not in its allow-list (rule %s: %s)", name, g.rel(imp), r.pkg, strings.Join(r.imports, ", ")))
			}
		}
		for _, imp := range p.tests {
			if !g.allowed(r, imp, true) {
				out = append(out, fmt.Sprintf("%s tests import %s: not in its allow-list (rule %s: %s; in tests also %s)", name, g.rel(imp), r.pkg,
					strings.Join(r.imports, ", "), orNone(r.tests)))
			}
		}
	}
	return out
}

// allowed reports whether a package under r may import imp.
func (g *graph) allowed(r rule, imp string, test bool) bool {
	if isStd(imp) && slices.Contains(r.imports, std) {
		return true
	}
	if match(g.abs(r.pkg), imp) {
		return true // inside its own tree
	}
	list := r.imports
	if test {
		list = append(slices.Clip(list), r.tests...)
	}
	for _, p := range list {
		if p != std && match(g.abs(p), imp) {
			return true
		}
	}
	return false
}

// checkBans walks the non-test imports of every package under each ban and
// reports, per banned pattern, the first banned package found and the chain
// of imports that reaches it.
func checkBans(g *graph, bans []ban) []string {
	var out []string
	for _, b := range bans {
		for _, root := range g.projectPackages() {
			if !match(g.abs(b.pkg), root) {
				continue
			}
			chains := g.chains(root)
			for _, pat := range b.banned {
				for _, path := range chains.order {
					if match(g.abs(pat), path) {
						out = append(out, fmt.Sprintf("%s depends on %s (%s): %s", g.rel(root), g.rel(path), g.chain(chains, path), b.why))
						break
					}
				}
			}
		}
	}
	return out
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, ", ")
}

// match reports whether pattern names path: the package itself, or with a
// "/..." suffix, the package and every package below it.
func match(pattern, path string) bool {
	if root, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == root || strings.HasPrefix(path, root+"/")
	}
	return path == pattern
}

// isStd follows the go command's own rule: a standard package's path has no
// dot in its first element. It also holds for imports of files the current
// platform does not build, which go list does not resolve.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
