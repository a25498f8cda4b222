package clusterfile

import (
	"bytes"

	yaml "go.yaml.in/yaml/v3"
)

// Helpers that build and edit yaml.Node trees (for merging kubeadm documents
// and writing Clusterfiles).

// encodeDocs writes documents as one multi-document YAML text, indented by
// two spaces.
func encodeDocs(docs []*yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// cloneNode deep-copies a tree without aliases (see expandAliases).
func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = cloneNode(child)
	}
	return &c
}

func scalar(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// optional is a string scalar, or nil (mapAdd then writes no field) for "".
func optional(v string) *yaml.Node {
	if v == "" {
		return nil
	}
	return scalar(v)
}

// quoted is a string scalar that YAML writes in double quotes, so that
// port: "22" stays a string for sealer's readers.
func quoted(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func sequence(flow bool, items ...string) *yaml.Node {
	s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		s.Style = yaml.FlowStyle
	}
	for _, it := range items {
		s.Content = append(s.Content, scalar(it))
	}
	return s
}

// mapGet returns the value of key in mapping m, or nil.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapSet sets key in mapping m, keeping its place when it exists.
func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

// mapAdd appends key to m when v is not nil (for writing optional fields).
func mapAdd(m *yaml.Node, key string, v *yaml.Node) {
	if v != nil {
		m.Content = append(m.Content, scalar(key), v)
	}
}

func mapDelete(m *yaml.Node, key string) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// mapEnsure returns the mapping at key in m, creating it (or replacing a
// null or a non-mapping) as needed.
func mapEnsure(m *yaml.Node, key string) *yaml.Node {
	v := mapGet(m, key)
	if v == nil || v.Kind != yaml.MappingNode {
		v = mapping()
		mapSet(m, key, v)
	}
	return v
}

// mapPath follows keys through nested mappings; nil when one is missing.
func mapPath(m *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		m = mapGet(m, k)
	}
	return m
}

// strValue is the text of a scalar, or "" for anything else.
func strValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}
