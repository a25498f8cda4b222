package kubefile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestAppLaunch reads every form of APP and LAUNCH into its step.
func TestAppLaunch(t *testing.T) {
	cases := []struct {
		name, src string
		want      []Step
	}{
		{"one path", "FROM scratch\nAPP web local://web.yaml\n",
			[]Step{&App{Name: "web", Paths: []string{"web.yaml"}}}},
		{"several paths", "FROM scratch\nAPP web local://a.yaml   local://dir/b\n",
			[]Step{&App{Name: "web", Paths: []string{"a.yaml", "dir/b"}}}},
		{"variables", "FROM scratch\nARG N=db\nARG D=charts\nAPP $N local://${D}/db\n",
			[]Step{&App{Name: "db", Paths: []string{"charts/db"}}}},
		{"launch json", "FROM scratch\nAPP a local://a\nAPP b local://b\nLAUNCH [\"b\", \"a\"]\n",
			[]Step{&App{Name: "a", Paths: []string{"a"}}, &App{Name: "b", Paths: []string{"b"}}, &Launch{Names: []string{"b", "a"}}}},
		{"launch words", "FROM scratch\nLAUNCH b a\n", []Step{&Launch{Names: []string{"b", "a"}}}},
		{"launch variable", "FROM scratch\nARG X=x\nLAUNCH [\"$X\"]\n", []Step{&Launch{Names: []string{"x"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kf, err := Parse("Kubefile", strings.NewReader(c.src))
			if err != nil {
				t.Fatal(err)
			}
			p, err := kf.Eval(Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []Step
			for _, s := range p.Steps {
				switch s := s.(type) {
				case *App:
					s.Source = Source{}
					got = append(got, s)
				case *Launch:
					s.Source = Source{}
					got = append(got, s)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("steps %s, want %s", dumpSteps(got), dumpSteps(c.want))
			}
		})
	}
}

func dumpSteps(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(dump(&Plan{Steps: []Step{s}}), "FROM \"\" at \n", "")) + "; ")
	}
	return b.String()
}

// TestAppErrors: every mistake in APP or LAUNCH names the Kubefile and line,
// whether seen as written (Parse) or once expanded (Eval).
func TestAppErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"no name", "FROM scratch\nAPP\n", "Kubefile:2: APP requires a name and at least one path"},
		{"no path", "FROM scratch\n\nAPP web\n", "Kubefile:3: APP web: no path"},
		{"other scheme", "FROM scratch\nAPP web https://example.com/web.yaml\n", "Kubefile:2: APP web: https://example.com/web.yaml: only local:// paths"},
		{"no scheme", "FROM scratch\nAPP web web.yaml\n", "Kubefile:2: APP web: web.yaml: write the path as local://web.yaml"},
		{"empty path", "FROM scratch\nAPP web local://\n", "Kubefile:2: APP web: local://: empty path"},
		{"bad name", "FROM scratch\nAPP Web_1 local://a\n", `Kubefile:2: APP: app name "Web_1": only lower-case`},
		{"long name", "FROM scratch\nAPP " + strings.Repeat("a", 54) + " local://a\n", "Kubefile:2: APP: app name"},
		{"json app", "FROM scratch\nAPP [\"web\", \"local://a\"]\n", "Kubefile:2: APP takes words, not a JSON array"},
		{"app flag", "FROM scratch\nAPP --x web local://a\n", "Kubefile:2: APP: unknown flag"},
		{"launch empty", "FROM scratch\nLAUNCH\n", "Kubefile:2: LAUNCH requires at least one app name"},
		{"launch empty json", "FROM scratch\nLAUNCH []\n", "Kubefile:2: LAUNCH requires at least one app name"},
		{"launch bad json", "FROM scratch\nLAUNCH [\"a\"\n", "Kubefile:2: LAUNCH: not a JSON array of app names"},
		{"launch twice the app", "FROM scratch\nLAUNCH [\"a\", \"a\"]\n", "Kubefile:2: LAUNCH: app a named twice"},
		{"launch bad name", "FROM scratch\nLAUNCH [\"A\"]\n", `Kubefile:2: LAUNCH: app name "A"`},
		{"two launches", "FROM scratch\nLAUNCH a\nCMD x\nLAUNCH b\n", "Kubefile:4: a second LAUNCH (the first is at line 2)"},
		{"app before from", "APP a local://a\nFROM scratch\n", "Kubefile:1: APP before FROM"},
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
	evalCases := []struct {
		name, src, want string
	}{
		{"name expands badly", "FROM scratch\nARG N\nAPP x$N-  local://a\n", `Kubefile:3: APP: app name "x-"`},
		{"path expands to other scheme", "FROM scratch\nARG P=http://x\nAPP a $P\n", "Kubefile:3: APP a: http://x: only local:// paths"},
		{"path expands to empty", "FROM scratch\nARG P\nAPP a local://$P\n", "Kubefile:3: APP a: local://: empty path"},
		{"launch expands twice", "FROM scratch\nARG A=a\nLAUNCH a $A\n", "Kubefile:3: LAUNCH: app a named twice"},
	}
	for _, c := range evalCases {
		t.Run(c.name, func(t *testing.T) {
			kf, err := Parse("Kubefile", strings.NewReader(c.src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = kf.Eval(Options{})
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %v\nwant prefix %q", err, c.want)
			}
		})
	}
}
