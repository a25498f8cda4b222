package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// listed is what go list -json says of one package.
type listed struct {
	ImportPath     string
	Dir            string
	ForTest        string
	Module         *struct{ Path string }
	Imports        []string
	TestImports    []string
	XTestImports   []string
	IgnoredGoFiles []string
	Error          *struct{ Err string }
}

// loadGraph lists the module that holds the working directory, with every
// dependency of its packages and of their tests. It runs as the installer is
// built (Makefile: GOOS=linux, CGO_ENABLED=0), so the bans see the closure
// that ships; files for other platforms are parsed for their imports, so
// the allow-lists hold on every platform.
func loadGraph() (*graph, error) {
	mod, err := goList("", "-m", "-f", "{{.Path}}\t{{.Dir}}")
	if err != nil {
		return nil, err
	}
	modPath, modDir, ok := strings.Cut(strings.TrimSpace(string(mod)), "\t")
	if !ok || strings.Contains(modDir, "\n") {
		return nil, fmt.Errorf("go list -m: want one module, got %q", mod)
	}
	out, err := goList(modDir, "-e", "-deps", "-test",
		"-json=ImportPath,Dir,ForTest,Module,Imports,TestImports,XTestImports,IgnoredGoFiles,Error", "./...")
	if err != nil {
		return nil, err
	}
	g := &graph{module: modPath, packages: map[string]*node{}}
	var broken []error
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		// Test variants ("p [p.test]") and test mains repeat what the
		// package itself lists.
		if p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		if p.Error != nil {
			broken = append(broken, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err))
		}
		n := &node{project: p.Module != nil && p.Module.Path == modPath, imports: p.Imports}
		if n.project {
			n.tests = union(p.TestImports, p.XTestImports)
			if err := n.addIgnored(p.Dir, p.IgnoredGoFiles); err != nil {
				broken = append(broken, err)
			}
		}
		g.packages[p.ImportPath] = n
	}
	// A package go list cannot load cannot be checked: that is a failure,
	// not a pass.
	return g, errors.Join(broken...)
}

// addIgnored adds the imports of files the current platform does not build
// (stamp_other.go and the like).
func (n *node) addIgnored(dir string, files []string) error {
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue // never built anywhere
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, is := range f.Imports {
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", fset.Position(is.Pos()), err)
			}
			if strings.HasSuffix(name, "_test.go") {
				n.tests = union(n.tests, []string{path})
			} else {
				n.imports = union(n.imports, []string{path})
			}
		}
	}
	return nil
}

// goList runs go list in dir ("": the working directory).
func goList(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
