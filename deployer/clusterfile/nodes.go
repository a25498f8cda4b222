package clusterfile

import (
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// This file holds the helpers that read yaml.Node trees field by field, so
// that every problem is reported with its line and path.

// deref follows aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unsupported YAML node"
}

func sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func idx(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// as returns n, aliases followed, when it is of kind (what names that
// kind in messages); nil for null, and for anything else, which is reported.
func (r *report) as(n *yaml.Node, path string, kind yaml.Kind, what string) *yaml.Node {
	if isNull(n) {
		return nil
	}
	m := deref(n)
	if m.Kind != kind {
		r.errorf(n.Line, path, "must be %s, not %s", what, describe(n))
		return nil
	}
	return m
}

// fields calls fn for each key of mapping n in order. Keys that are not
// plain strings, or that appear twice, are reported and skipped. A null n has
// no fields; anything else that is not a mapping is reported.
func (r *report) fields(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	m := r.as(n, path, yaml.MappingNode, "a mapping (key: value)")
	if m == nil {
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), m.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			r.errorf(m.Content[i].Line, path, "a key must be a plain name, not %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			r.errorf(k.Line, sub(path, k.Value), "set twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

// field is one known field of a mapping: its name and how its value is read
// (k is the key, v the value, path the field's place, such as spec.ssh.port).
type field struct {
	name string
	read func(k, v *yaml.Node, path string)
}

// decodeFields reads mapping n through table, its kind's one list of known
// fields: each key goes to its field, and any other is an unknown field whose
// suggestion is drawn from the same table, in its order. other, when not nil,
// is asked first about a key the table lacks and returns whether it handled it.
func (r *report) decodeFields(n *yaml.Node, path string, table []field, other func(key string, k *yaml.Node, path string) bool) {
	r.fields(n, path, func(key string, k, v *yaml.Node) {
		p := sub(path, key)
		for _, f := range table {
			if f.name == key {
				f.read(k, v, p)
				return
			}
		}
		if other != nil && other(key, k, p) {
			return
		}
		names := make([]string, len(table))
		for i, f := range table {
			names[i] = f.name
		}
		r.unknown(k, path, key, names)
	})
}

// skip is a field that is known and carries nothing to read.
func skip(_, _ *yaml.Node, _ string) {}

// str reads a single value as text; null is "". YAML's own typing is not
// applied, so passwd: 0123 stays "0123".
func (r *report) str(n *yaml.Node, path string) string {
	if isNull(n) {
		return ""
	}
	s := deref(n)
	if s.Kind != yaml.ScalarNode {
		r.errorf(n.Line, path, "must be a single value, not %s", describe(n))
		return ""
	}
	return s.Value
}

// port reads a TCP port written as a number or a string; null is 0.
func (r *report) port(n *yaml.Node, path string) int {
	v := r.str(n, path)
	if v == "" {
		return 0
	}
	p, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || p < 1 || p > 65535 {
		r.errorf(n.Line, path, "%q is not a port number (1-65535)", v)
		return 0
	}
	return p
}

// boolean reads true or false; null is false.
func (r *report) boolean(n *yaml.Node, path string) bool {
	switch v := strings.TrimSpace(r.str(n, path)); v {
	case "", "false":
		return false
	case "true":
		return true
	default:
		r.errorf(n.Line, path, "%q is not true or false", v)
		return false
	}
}

// list calls fn for each entry of sequence n; null is an empty list.
func (r *report) list(n *yaml.Node, path string, fn func(i int, v *yaml.Node)) {
	s := r.as(n, path, yaml.SequenceNode, "a list")
	if s == nil {
		return
	}
	for i, v := range s.Content {
		fn(i, v)
	}
}

// strMap reads a mapping of names to single values; null values are "".
func (r *report) strMap(n *yaml.Node, path string) map[string]string {
	var out map[string]string
	r.fields(n, path, func(key string, _, v *yaml.Node) {
		if out == nil {
			out = map[string]string{}
		}
		out[key] = r.str(v, sub(path, key))
	})
	return out
}

// topField returns the scalar value of key in mapping m, and its node.
func topField(m *yaml.Node, key string) (string, *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return "", nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := deref(m.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			v := deref(m.Content[i+1])
			if v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
				return v.Value, m.Content[i+1]
			}
			return "", m.Content[i+1]
		}
	}
	return "", nil
}
