package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// readVersions reads a shell-style env file such as
// bases/kubernetes/versions.env: KEY=VALUE lines, '#' comments, optional
// quotes and "export ". Shell scripts source the same file, so only plain
// assignments are understood here; there is no $VAR expansion.
func readVersions(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading versions: %w", err)
	}
	vs := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || !isKey(k) {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE, got %q", path, i+1, line)
		}
		if v, err = unquote(v); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", path, i+1, k, err)
		}
		vs[k] = v
	}
	return vs, nil
}

func isKey(k string) bool {
	for i, c := range k {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return k != ""
}

// unquote takes the value of an assignment as a shell would for the simple
// cases: one quoted string or one word, then at most a comment.
func unquote(v string) (string, error) {
	var rest string
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		end := strings.IndexByte(v[1:], v[0])
		if end < 0 {
			return "", errors.New("unterminated quote")
		}
		v, rest = v[1:end+1], v[end+2:]
	} else if i := strings.IndexAny(v, " \t"); i >= 0 {
		v, rest = v[:i], v[i:]
	}
	if rest = strings.TrimSpace(rest); rest != "" && !strings.HasPrefix(rest, "#") {
		return "", fmt.Errorf("unexpected %q after the value", rest)
	}
	return v, nil
}
