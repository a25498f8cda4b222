package kubefile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text through Parse and Eval: neither may panic,
// and every failure must be a positioned *Error.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "good", "*.Kubefile"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "Kubefile"))
	seeds = append(append(seeds, more...), filepath.Join("..", "..", "testdata", "demo", "Kubefile"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"FROM scratch\nIMAGE \"a b\" ${X:-c}\nCMD [\"a\"]\n",
		"# escape=`\nFROM scratch\nRUN a `\n b\n",
		"FROM scratch\nRUN <<EOF\nx\nEOF\n",
		"ARG A=${B:?x}\nFROM $A\n",
		"FROM scratch\nCOPY --chmod=$M [\"a\",\"b\"]\n",
		"FROM scratch\nLABEL \"a\"='b' c=\"${d}\"\n",
		"FROM scratch\nAPP a local://x local://${Y}\nLAUNCH [\"a\"]\n",
		"FROM scratch\nAPP $N\nLAUNCH $N b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := Parse("Kubefile", bytes.NewReader(data))
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) {
				t.Fatalf("Parse error %T %q is not a *kubefile.Error", err, err)
			}
			return
		}
		args := map[string]string{"A": "1", "M": "0644", "B": "x y"}
		if _, err := kf.BaseRef(args); err != nil {
			return
		}
		p, err := kf.Eval(Options{BuildArgs: args, BaseEnv: []string{"PATH=/bin", "X"}})
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) {
				t.Fatalf("Eval error %T %q is not a *kubefile.Error", err, err)
			}
			return
		}
		for _, s := range p.Steps {
			if s.Where().Pos.Line <= 0 {
				t.Fatalf("step %T without a line", s)
			}
		}
	})
}
