package kubefile

import (
	"encoding/json"
	"fmt"
	"strings"
)

// LocalScheme prefixes every APP path: a file or directory of the build
// context (sealer's Kubefile writes the same; no other scheme is fetched).
const LocalScheme = "local://"

// maxAppName bounds an app's name: it is a Helm release name, which
// Kubernetes keeps in labels (at most 53 characters).
const maxAppName = 53

// App defines an application: the files at Paths (build context paths,
// LocalScheme removed) go to application/apps/<Name>/ in the rootfs.
type App struct {
	Source
	Name  string
	Paths []string
}

// Launch names the apps an install launches by default, in order.
type Launch struct {
	Source
	Names []string
}

// ValidAppName reports whether name can name an app: lower-case letters,
// digits and dashes, starting and ending with a letter or digit, as Helm
// release names and Kubernetes labels want.
func ValidAppName(name string) error {
	if name == "" || len(name) > maxAppName {
		return fmt.Errorf("app name %q: 1 to %d characters", name, maxAppName)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(name)-1
		if !ok {
			return fmt.Errorf("app name %q: only lower-case letters, digits and inner dashes", name)
		}
	}
	return nil
}

// appArgs checks APP's words as written: a name, then one or more
// local:// paths (those holding a variable are checked once expanded).
func appArgs(in *Instruction) error {
	s := rest(in.Original)
	if strings.HasPrefix(s, "[") {
		return Errorf(in.Pos, "APP takes words, not a JSON array: APP name local://path [local://path...]")
	}
	in.Args = strings.Fields(s)
	if len(in.Args) == 0 {
		return Errorf(in.Pos, "APP requires a name and at least one path: APP name local://path [local://path...]")
	}
	if !strings.Contains(in.Args[0], "$") {
		if err := ValidAppName(in.Args[0]); err != nil {
			return Errorf(in.Pos, "APP: %w", err)
		}
	}
	if len(in.Args) == 1 {
		return Errorf(in.Pos, "APP %s: no path: APP %s local://path [local://path...]", in.Args[0], in.Args[0])
	}
	for _, p := range in.Args[1:] {
		if !strings.Contains(p, "$") {
			if _, err := localPath(p); err != nil {
				return Errorf(in.Pos, "APP %s: %w", in.Args[0], err)
			}
		}
	}
	return nil
}

// localPath strips LocalScheme from an APP path.
func localPath(p string) (string, error) {
	rel, ok := strings.CutPrefix(p, LocalScheme)
	switch {
	case !ok && strings.Contains(p, "://"):
		return "", fmt.Errorf("%s: only local:// paths (files of the build context) are supported", p)
	case !ok:
		return "", fmt.Errorf("%s: write the path as %s%s (a file or directory of the build context)", p, LocalScheme, p)
	case rel == "":
		return "", fmt.Errorf("%s: empty path", p)
	}
	return rel, nil
}

// launchArgs reads LAUNCH's text: a JSON array of app names (sealer's form)
// or the names as words.
func launchArgs(in *Instruction) error {
	s := rest(in.Original)
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &in.Args); err != nil {
			return Errorf(in.Pos, "LAUNCH: not a JSON array of app names: %s", s)
		}
		in.JSON = true
	} else {
		in.Args = strings.Fields(s)
	}
	if len(in.Args) == 0 {
		return Errorf(in.Pos, `LAUNCH requires at least one app name: LAUNCH ["name", ...]`)
	}
	seen := map[string]bool{}
	for _, a := range in.Args {
		if seen[a] {
			return Errorf(in.Pos, "LAUNCH: app %s named twice", a)
		}
		seen[a] = true
		if !strings.Contains(a, "$") {
			if err := ValidAppName(a); err != nil {
				return Errorf(in.Pos, "LAUNCH: %w", err)
			}
		}
	}
	return nil
}

// appStep expands an APP line.
func (e *evaluator) appStep(src Source, in Instruction) (Step, error) {
	a := &App{Source: src}
	for i, w := range in.Args {
		v, err := e.expand(in.Pos, w)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if err := ValidAppName(v); err != nil {
				return nil, Errorf(in.Pos, "APP: %w", err)
			}
			a.Name = v
			continue
		}
		rel, err := localPath(v)
		if err != nil {
			return nil, Errorf(in.Pos, "APP %s: %w", a.Name, err)
		}
		a.Paths = append(a.Paths, rel)
	}
	return a, nil
}

// launchStep expands a LAUNCH line.
func (e *evaluator) launchStep(src Source, in Instruction) (Step, error) {
	l := &Launch{Source: src}
	seen := map[string]bool{}
	for _, w := range in.Args {
		v, err := e.expand(in.Pos, w)
		if err != nil {
			return nil, err
		}
		if err := ValidAppName(v); err != nil {
			return nil, Errorf(in.Pos, "LAUNCH: %w", err)
		}
		if seen[v] {
			return nil, Errorf(in.Pos, "LAUNCH: app %s named twice", v)
		}
		seen[v] = true
		l.Names = append(l.Names, v)
	}
	return l, nil
}

// checkLaunch allows one LAUNCH per Kubefile: it is the whole default list.
func (k *Kubefile) checkLaunch() error {
	var first *Instruction
	for i := range k.Instructions {
		in := &k.Instructions[i]
		if in.Cmd != "LAUNCH" {
			continue
		}
		if first != nil {
			return Errorf(in.Pos, "a second LAUNCH (the first is at line %d): one LAUNCH lists every app to launch, in order", first.Pos.Line)
		}
		first = in
	}
	return nil
}
