package packer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// COPY between RUNs: the work dir is brought up to date, including paths
// whose type changed (a directory replaced by a file and back).
func TestRunBetweenCopies(t *testing.T) {
	ctxDir := t.TempDir()
	files := map[string]string{
		"a":            "a\n",
		"b":            "b\n",
		"tree/sub/s":   "s\n",
		"tree/t":       "t\n",
		"swap1/y":      "y is now a file\n",
		"swap2/q/inq":  "q is now a dir\n",
		"again/x/a":    "a replaced\n",
		"archive.tgz":  "raw\n",
		"tree/sub/s2":  "s2\n",
		"keep/kept.sh": "#!/bin/sh\n",
	}
	for name, content := range files {
		p := filepath.Join(ctxDir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	kf := `FROM scratch
COPY a /x/a
COPY keep /keep/
RUN test -f x/a && mkdir y && echo 1 > y/f && echo q > q && chmod 700 keep
COPY b /y
COPY tree /z/
RUN test -f y/b && test -f z/sub/s && rm -r z/sub && echo 2 >> y/f && test "$(cat q)" = q
COPY swap1 /
COPY swap2 /
COPY again /
RUN test -f y && ! test -e y/f && test -d q && test -f q/inq && test "$(cat x/a)" = "a replaced" && echo done > done
`
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(kf), 0o644)
	out := filepath.Join(t.TempDir(), "x.run")
	mustBuild(t, opts(ctxDir, out))
	r := open(t, out)
	var paths []string
	for _, f := range r.Index().Files {
		paths = append(paths, f.Path)
	}
	got := strings.Join(paths, " ")
	want := "done keep keep/kept.sh q q/inq x x/a y z z/t"
	if got != want {
		t.Errorf("files\n%s\nwant\n%s", got, want)
	}
	if f, _ := r.File("keep"); f == nil || f.Mode != 0o700 {
		t.Errorf("keep: %+v (RUN's chmod must show)", f)
	}
	if got := readFile(t, r, "y"); got != "y is now a file\n" {
		t.Errorf("y %q", got)
	}
}
