package main

import (
	"fmt"
	"strings"
)

// requirement is one term of a label selector.
type requirement struct {
	key    string
	op     string // =, !=, exists, !, in, notin
	values []string
}

type selector []requirement

// parseSelector reads label selectors: a=b, a==b, a!=b, a, !a,
// a in (x,y), a notin (x,y), joined by commas.
func parseSelector(s string) (selector, error) {
	var sel selector
	for _, term := range splitTerms(s) {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		var r requirement
		switch {
		case strings.HasPrefix(term, "!"):
			r = requirement{key: strings.TrimSpace(term[1:]), op: "!"}
		case strings.Contains(term, " notin "), strings.Contains(term, " in "):
			op := "in"
			k, rest, _ := strings.Cut(term, " in ")
			if strings.Contains(term, " notin ") {
				op = "notin"
				k, rest, _ = strings.Cut(term, " notin ")
			}
			rest = strings.TrimSpace(rest)
			if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
				return nil, fmt.Errorf("%q: values must be in parentheses", term)
			}
			var vals []string
			for _, v := range strings.Split(rest[1:len(rest)-1], ",") {
				vals = append(vals, strings.TrimSpace(v))
			}
			r = requirement{key: strings.TrimSpace(k), op: op, values: vals}
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = requirement{key: strings.TrimSpace(k), op: "!=", values: []string{strings.TrimSpace(v)}}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = requirement{key: strings.TrimSpace(k), op: "=", values: []string{strings.TrimSpace(strings.TrimPrefix(v, "="))}}
		default:
			r = requirement{key: term, op: "exists"}
		}
		if r.key == "" || strings.ContainsAny(r.key, " ()") {
			return nil, fmt.Errorf("%q: invalid label key", term)
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// splitTerms splits on commas outside parentheses.
func splitTerms(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func (sel selector) matches(labels map[string]string) bool {
	for _, r := range sel {
		v, has := labels[r.key]
		switch r.op {
		case "exists":
			if !has {
				return false
			}
		case "!":
			if has {
				return false
			}
		case "=":
			if !has || v != r.values[0] {
				return false
			}
		case "!=":
			if has && v == r.values[0] {
				return false
			}
		case "in", "notin":
			found := false
			for _, x := range r.values {
				if has && v == x {
					found = true
				}
			}
			if found != (r.op == "in") {
				return false
			}
		}
	}
	return true
}

// fieldSelector supports metadata.name and metadata.namespace, = and !=.
type fieldSelector []requirement

func parseFieldSelector(s string) (fieldSelector, error) {
	sel, err := parseSelector(s)
	if err != nil {
		return nil, err
	}
	for _, r := range sel {
		if r.key != "metadata.name" && r.key != "metadata.namespace" {
			return nil, fmt.Errorf("field label not supported: %s", r.key)
		}
		if r.op != "=" && r.op != "!=" {
			return nil, fmt.Errorf("invalid field selector %q", s)
		}
	}
	return fieldSelector(sel), nil
}

func (fs fieldSelector) matches(obj map[string]any) bool {
	vals := map[string]string{
		"metadata.name":      str(obj, "metadata", "name"),
		"metadata.namespace": str(obj, "metadata", "namespace"),
	}
	return selector(fs).matches(vals)
}
