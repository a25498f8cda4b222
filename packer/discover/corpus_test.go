package discover

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// corpusDir is the shared image-discovery corpus, beside the repository
// (../shared/corpus from the repository root). held-back.bin there is never
// read: it is for independent checks.
const corpusDir = "../../../shared/corpus/visible"

type expectation struct {
	Kind        string   `json:"kind"`
	PodImages   []string `json:"pod_images"`
	ExtraImages []string `json:"extra_images"`
	Decoys      []string `json:"decoys"`
	ValuesOnly  []string `json:"values_only_images"`
	Occurrences []struct {
		Ref        string `json:"ref"`
		Where      string `json:"where"`
		Field      string `json:"field"`
		Extra      bool   `json:"extra"`
		Normalized string `json:"normalized"`
	} `json:"occurrences"`
}

type corpusCase struct {
	name string
	dir  string
	want expectation
}

func loadCorpus(tb testing.TB) []corpusCase {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.expected.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("corpus not found at %s", corpusDir)
	}
	var cases []corpusCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var want expectation
		if err := json.Unmarshal(data, &want); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".expected.json")
		cases = append(cases, corpusCase{name: name, dir: filepath.Join(corpusDir, name), want: want})
	}
	return cases
}

func TestCorpus(t *testing.T) {
	for _, tc := range loadCorpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			// Pod images only: exactly the expected set.
			r, err := Find(context.Background(), tc.dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range r.Warnings {
				t.Logf("warning: %s", w)
			}
			if got := r.Refs(); !slices.Equal(got, sortedCopy(tc.want.PodImages)) {
				t.Errorf("pod images:\n got %q\nwant %q", got, tc.want.PodImages)
			}

			// Extras: every expected one found, none that is not expected.
			allowed := append(slices.Clone(tc.want.ExtraImages), tc.want.PodImages...)
			var extras []string
			for _, e := range r.Extras {
				extras = append(extras, e.Ref)
				if !slices.Contains(allowed, e.Ref) {
					t.Errorf("false extra %s at %s", e.Ref, e.Sources[0])
				}
			}
			for _, want := range tc.want.ExtraImages {
				if !slices.Contains(extras, want) {
					t.Errorf("extra %s not found (extras %q)", want, extras)
				}
			}

			// With extras included: all of them, and nothing that is a decoy
			// or only appears with non-default chart values.
			rx, err := Find(context.Background(), tc.dir, Options{IncludeExtras: true})
			if err != nil {
				t.Fatal(err)
			}
			wantAll := sortedCopy(append(slices.Clone(tc.want.PodImages), tc.want.ExtraImages...))
			if got := rx.Refs(); !slices.Equal(got, wantAll) {
				t.Errorf("with extras:\n got %q\nwant %q", got, wantAll)
			}
			for _, got := range append(rx.Refs(), extras...) {
				for _, d := range tc.want.Decoys {
					if isDecoy(got, d) {
						t.Errorf("decoy %q reported as %s", d, got)
					}
				}
				if slices.Contains(tc.want.ValuesOnly, got) {
					t.Errorf("values-only image %s reported", got)
				}
			}

			// Every expected occurrence is among the sources, at the same
			// document and object (for charts: the same template).
			for _, o := range tc.want.Occurrences {
				if !hasOccurrence(rx, o.Normalized, o.Where, tc.want.Kind) {
					t.Errorf("occurrence %s %q (%s) not reported", o.Normalized, o.Where, o.Field)
				}
			}
		})
	}
}

// hasOccurrence matches a corpus "where" ("deploy.yaml#14 Deployment/x", or
// "rendered chart/templates/t.yaml Kind/x") against the sources of ref.
func hasOccurrence(r *Result, ref, where, kind string) bool {
	for _, im := range r.Images {
		if im.Ref != ref {
			continue
		}
		for _, s := range im.Sources {
			var at string
			if kind == "chart" {
				at = "rendered " + s.Template + " " + s.Object
			} else {
				at = filepath.Base(s.File) + "#" + itoa(s.Doc) + " " + s.Object
			}
			if at == where {
				return true
			}
		}
	}
	return false
}

// isDecoy reports whether a reported reference came from a decoy string.
func isDecoy(got, decoy string) bool {
	named, err := reference.ParseNormalizedNamed(decoy)
	if err != nil {
		return strings.Contains(got, decoy)
	}
	g, err := reference.ParseNormalizedNamed(got)
	return err == nil && g.Name() == named.Name()
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestCorpusShapeRule checks the kind-agnostic rule against real manifests:
// walking every object (workloads included) only by the pod-spec shape of
// its containers lists must give exactly the pod images that the by-kind
// walk gives, with no false positive from CRDs, ConfigMaps or other kinds.
func TestCorpusShapeRule(t *testing.T) {
	for _, tc := range loadCorpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			streams := map[string][]byte{}
			if tc.want.Kind == "chart" {
				caps, err := capabilities(DefaultKubeVersion)
				if err != nil {
					t.Fatal(err)
				}
				files, err := renderChart(os.DirFS(tc.dir), ".", caps)
				if err != nil {
					t.Fatal(err)
				}
				for name, content := range files {
					streams[name] = []byte(content)
				}
			} else {
				files, _ := filepath.Glob(filepath.Join(tc.dir, "*.y*ml"))
				for _, f := range files {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					streams[f] = data
				}
			}
			c := newCollector()
			for name, data := range streams {
				for _, d := range splitDocuments(data) {
					v, err := decode(d.body)
					if err != nil {
						t.Fatalf("%s#%d: %v", name, d.index, err)
					}
					if m, ok := v.(map[string]any); ok && m["kind"] != "CustomResourceDefinition" {
						c.shaped(m, scope{src: Source{File: name, Doc: d.index}}, "")
					}
				}
			}
			if got := c.result(false).Refs(); !slices.Equal(got, sortedCopy(tc.want.PodImages)) {
				t.Errorf("shape rule:\n got %q\nwant %q", got, tc.want.PodImages)
			}
		})
	}
}
