package discover

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFind feeds arbitrary bytes to the YAML walker that Find runs on every
// manifest and rendered chart: it must never panic, and what it reports must
// be normalized references.
func FuzzFind(f *testing.F) {
	for _, root := range []string{"testdata", corpusDir} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				if data, err := os.ReadFile(p); err == nil {
					f.Add(data)
				}
			}
			return nil
		})
	}
	f.Add([]byte("kind: List\nitems: [{kind: List, items: [{kind: Pod, spec: {containers: [{image: a}]}}]}]"))
	f.Add([]byte("kind: ConfigMap\ndata: {p: \"kind: ConfigMap\\ndata: {q: 'image: x'}\"}"))
	f.Add([]byte("a: &a [*a, *a]\n---\n--- |\n---\n..."))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCollector()
		c.scanStream(data, Source{File: "fuzz.yaml"})
		r := c.result(true)
		for _, im := range append(r.Images, r.Extras...) {
			if n, err := Normalize(im.Ref); err != nil || n != im.Ref {
				t.Fatalf("reported %q, which normalizes to %q (%v)", im.Ref, n, err)
			}
			if len(im.Sources) == 0 {
				t.Fatalf("%s has no source", im.Ref)
			}
		}
	})
}
