package discover

import (
	"strings"
	"testing"
)

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		in     string
		bodies []string // trimmed
		lines  []int
	}{
		{"a: 1\n", []string{"a: 1"}, []int{1}},
		{"a: 1\n---\n", []string{"a: 1", ""}, []int{1, 2}},
		{"---\na: 1\n", []string{"a: 1"}, []int{1}},
		{"# header\n\n---\na: 1\n---\n---\nb: 2", []string{"a: 1", "", "b: 2"}, []int{3, 5, 6}},
		{"a: 1\n...\n---\nb: 1\n", []string{"a: 1", "b: 1"}, []int{1, 3}},
		{"--- |\n  text\n---\na: 1", []string{"|\n  text", "a: 1"}, []int{1, 3}},
		{"a: |\n  ----\n  --- not at column 0\n---x: 1\n", []string{"a: |\n  ----\n  --- not at column 0\n---x: 1"}, []int{1}},
		{"\xef\xbb\xbfa: 1\r\n---\r\nb: 2\r\n", []string{"a: 1", "b: 2"}, []int{1, 2}},
		{"", nil, nil},
	}
	for _, tc := range tests {
		docs := splitDocuments([]byte(tc.in))
		if len(docs) != len(tc.bodies) {
			t.Errorf("%q: %d documents, want %d", tc.in, len(docs), len(tc.bodies))
			continue
		}
		for i, d := range docs {
			if got := strings.TrimSpace(string(d.body)); got != tc.bodies[i] || d.line != tc.lines[i] || d.index != i {
				t.Errorf("%q doc %d = %q at line %d (index %d), want %q at line %d", tc.in, i, got, d.line, d.index, tc.bodies[i], tc.lines[i])
			}
		}
	}
}

func TestMayHoldImages(t *testing.T) {
	for doc, want := range map[string]bool{
		"kind: Deployment\nspec: {containers: [{image: x}]}":                              true,
		"kind: Service\nspec: {ports: [{port: 80}]}":                                      false,
		"kind: ConfigMap\ndata: {x: 'docker pull quay.io/a/b:1'}":                         true,
		"env: [{name: HELPER_IMAGE}]":                                                     true,
		"apiVersion: x\nkind: CustomResourceDefinition\nspec: {image: a}":                 false,
		"kind: \"CustomResourceDefinition\" # quoted\nimage: a":                           false,
		"kind: List\nitems:\n- kind: CustomResourceDefinition\n- image: a":                true,
		"kind: CustomResourceDefinitionList\nitems: [{spec: {containers: [{image: a}]}}]": true,
	} {
		if got := mayHoldImages([]byte(doc)); got != want {
			t.Errorf("mayHoldImages(%q) = %v, want %v", doc, got, want)
		}
	}
}
