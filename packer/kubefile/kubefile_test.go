package kubefile

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dump renders a plan for golden files: one JSON object per step.
func dump(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %q at %s\n", p.From.Ref, p.From.Pos)
	for _, s := range p.Steps {
		j, _ := json.Marshal(s)
		fmt.Fprintf(&b, "%s %s\n", strings.TrimPrefix(fmt.Sprintf("%T", s), "*kubefile."), j)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	cases := []struct {
		file      string
		golden    string
		buildArgs map[string]string
		baseEnv   []string
	}{
		{file: "full.Kubefile", golden: "full.golden"},
		{file: "full.Kubefile", golden: "full-buildargs.golden",
			buildArgs: map[string]string{"VERSION": "9.9.9", "REGISTRY": "my.registry:5000", "NOPE": "x"}},
		{file: "args.Kubefile", golden: "args.golden"},
		{file: "args.Kubefile", golden: "args-tag.golden", buildArgs: map[string]string{"TAG": "v2"}},
		{file: "escape.Kubefile", golden: "escape.golden"},
		{file: "base-env.Kubefile", golden: "base-env.golden", baseEnv: []string{"PATH=/base/bin", "FROM_BASE=yes"}},
		{file: "apps.Kubefile", golden: "apps.golden"},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "good", c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			kf, err := Parse(c.file, f)
			if err != nil {
				t.Fatal(err)
			}
			from, err := kf.BaseRef(c.buildArgs)
			if err != nil {
				t.Fatal(err)
			}
			p, err := kf.Eval(Options{BuildArgs: c.buildArgs, BaseEnv: c.baseEnv})
			if err != nil {
				t.Fatal(err)
			}
			if from.Ref != p.From.Ref {
				t.Errorf("BaseRef %q, Eval's FROM %q", from.Ref, p.From.Ref)
			}
			got := dump(p)
			path := filepath.Join("testdata", "good", c.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("plan differs from %s (run with -update to accept):\n%s", path, got)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown", "FROM scratch\n\nFOOBAR x\n", `Kubefile:3: unknown instruction "FOOBAR"`},
		{"unsupported", "FROM scratch\nWORKDIR /x\n", `Kubefile:2: instruction "WORKDIR" is not supported by sealpack`},
		{"empty", "", "Kubefile: no instructions"},
		{"comments only", "# nothing\n\n", "Kubefile: no instructions"},
		{"no from", "ARG A=1\nLABEL a=b\n", "Kubefile:2: LABEL before FROM"},
		{"only arg", "ARG A=1\n", "Kubefile: no FROM instruction"},
		{"two froms", "FROM scratch\nCMD x\nFROM scratch\n", "Kubefile:3: a second FROM (the first is at line 1)"},
		{"from args", "FROM a b\n", "Kubefile:1: FROM takes exactly one argument"},
		{"from as", "FROM a AS b\n", "Kubefile:1: FROM takes exactly one argument"},
		{"from empty", "FROM\n", "Kubefile:1: FROM takes exactly one argument"},
		{"from flag", "FROM --platform=linux/arm64 scratch\n", "Kubefile:1: FROM: unknown flag --platform=linux/arm64"},
		{"copy one arg", "FROM scratch\nCOPY a\n", "Kubefile:2: COPY requires at least two arguments"},
		{"copy none", "FROM scratch\nCOPY\n", "Kubefile:2: COPY requires at least two arguments"},
		{"copy bad flag", "FROM scratch\nCOPY --from=x a b\n", "Kubefile:2: COPY: unknown flag --from (supported: --chmod)"},
		{"copy chown", "FROM scratch\nCOPY --chown=1:1 a b\n", "Kubefile:2: COPY: unknown flag --chown"},
		{"copy bad chmod", "FROM scratch\nCOPY --chmod=rwx a b\n", "Kubefile:2: COPY --chmod=rwx: not an octal mode"},
		{"copy chmod 9", "FROM scratch\nCOPY --chmod=0789 a b\n", "Kubefile:2: COPY --chmod=0789: not an octal mode"},
		{"copy chmod empty", "FROM scratch\nCOPY --chmod a b\n", "Kubefile:2: COPY --chmod needs a value"},
		{"copy chmod twice", "FROM scratch\nCOPY --chmod=1 --chmod=2 a b\n", "Kubefile:2: COPY --chmod given twice"},
		{"copy bad json", "FROM scratch\nCOPY [\"a\", 1]\n", "Kubefile:2: when using JSON array syntax"},
		{"run empty", "FROM scratch\nRUN\n", "Kubefile:2: RUN requires a command"},
		{"run empty json", "FROM scratch\nRUN []\n", "Kubefile:2: RUN requires a command"},
		{"run mount", "FROM scratch\nRUN --mount=type=cache,target=/x true\n", "Kubefile:2: RUN: unknown flag --mount"},
		{"cmd empty", "FROM scratch\nCMD\n", "Kubefile:2: CMD requires a command"},
		{"image empty", "FROM scratch\nIMAGE\n", "Kubefile:2: IMAGE requires at least one image reference"},
		{"image bad json", "FROM scratch\nIMAGE [\"a\"\n", "Kubefile:2: IMAGE: not a JSON array"},
		{"image flag", "FROM scratch\nIMAGE --platform=x a\n", "Kubefile:2: IMAGE: unknown flag"},
		{"env one word", "FROM scratch\nENV KEY\n", "Kubefile:2: ENV must have two arguments"},
		{"env empty", "FROM scratch\nENV\n", "Kubefile:2: ENV requires at least one KEY=VALUE"},
		{"label no equals", "FROM scratch\nLABEL a=b c\n", "Kubefile:2: Syntax error - can't find = in \"c\""},
		{"arg empty", "ARG\nFROM scratch\n", "Kubefile:1: ARG requires a name"},
		{"arg no name", "ARG =x\nFROM scratch\n", `Kubefile:1: ARG "=x": missing name`},
		{"heredoc", "FROM scratch\nRUN <<EOF\necho hi\nEOF\n", "Kubefile:2: RUN: heredocs (<<EOF) are not supported"},
		{"unterminated heredoc", "FROM scratch\nRUN <<EOF\necho hi\n", "Kubefile:2: unterminated heredoc"},
		{"bad escape directive", "# escape=x\nFROM scratch\n", "Kubefile:1: invalid escape token"},
		{"continuation line", "FROM scratch\nLABEL a=b \\\n  c=d\nFOO \\\n bar\n", `Kubefile:4: unknown instruction "FOO"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("Kubefile", strings.NewReader(c.src))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\nwant prefix %q", err, c.want)
			}
			var ke *Error
			if !errors.As(err, &ke) {
				t.Errorf("error %T is not a *kubefile.Error", err)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"from expands to nothing", "ARG B\nFROM $B\n", "Kubefile:2: FROM $B expands to nothing"},
		{"required var", "FROM scratch\nLABEL a=${NOPE:?unset}\n", "Kubefile:2: "},
		{"copy arg empty", "FROM scratch\nARG D\nCOPY a $D\n", "Kubefile:3: COPY: argument $D expands to nothing"},
		{"chmod var bad", "FROM scratch\nARG M=abc\nCOPY --chmod=$M a b/\n", "Kubefile:3: COPY --chmod=abc: not an octal mode"},
		{"image empty expansion", "FROM scratch\nARG I\nIMAGE $I\n", "Kubefile:3: IMAGE: $I expands to no image reference"},
		{"env empty key", "FROM scratch\nARG K\nENV $K=v\n", "Kubefile:3: ENV: key $K expands to nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kf, err := Parse("Kubefile", strings.NewReader(c.src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = kf.Eval(Options{})
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\nwant prefix %q", err, c.want)
			}
		})
	}
}

func TestRunEnv(t *testing.T) {
	src := "ARG G=global\nFROM scratch\nARG G\nARG A=1\nARG B=2\nARG NOVAL\nENV A=env\nRUN env\n"
	kf, err := Parse("Kubefile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := kf.Eval(Options{BuildArgs: map[string]string{"B": "cli"}, BaseEnv: []string{"PATH=/usr/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Steps[1].(*Run).Env
	want := []string{"G=global", "B=cli", "PATH=/usr/bin", "A=env"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RUN env %q, want %q", got, want)
	}
}

func TestShellJoin(t *testing.T) {
	cases := map[string][]string{
		"kubectl apply -f manifests/":  {"kubectl", "apply", "-f", "manifests/"},
		"helm install 'my app' ''":     {"helm", "install", "my app", ""},
		`echo 'it'\''s' '$HOME' 'a;b'`: {"echo", "it's", "$HOME", "a;b"},
		"env A=b,c@d:e%f+g":            {"env", "A=b,c@d:e%f+g"},
		"printf '%s\n' '*'":            {"printf", "%s\n", "*"},
	}
	for want, args := range cases {
		if got := ShellJoin(args); got != want {
			t.Errorf("ShellJoin(%q) = %q, want %q", args, got, want)
		}
	}
}

// Errorf wraps like fmt.Errorf: the position goes in front, the cause stays
// in the chain, so callers can still ask errors.Is about it.
func TestErrorfWraps(t *testing.T) {
	cause := errors.New("the cause")
	err := Errorf(Pos{File: "Kubefile", Line: 3}, "COPY a: %w", cause)
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false", err)
	}
	if got, want := err.Error(), "Kubefile:3: COPY a: the cause"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}
