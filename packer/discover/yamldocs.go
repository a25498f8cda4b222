package discover

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// document is one YAML document of a stream.
type document struct {
	index int    // 0-based, counted like YAML loaders do (an explicit "---" always starts one)
	line  int    // 1-based line of the document's first line in the stream
	body  []byte // the document text, without its "---" marker
}

// splitDocuments cuts a YAML stream at its document markers. It works on
// lines rather than with a YAML parser so that one broken document does not
// hide the ones after it. A "---" at column 0 always starts a document in
// YAML, even inside a block scalar, so cutting there is exact.
func splitDocuments(data []byte) []document {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var (
		docs     []document
		cur      []byte
		start    = 1
		explicit bool // the current document was opened by "---"
		line     = 0
	)
	flush := func() {
		if explicit || hasContent(cur) {
			docs = append(docs, document{index: len(docs), line: start, body: cur})
		}
		cur, explicit = nil, false
	}
	for len(data) > 0 {
		line++
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		switch {
		case isMarker(l, "---"):
			flush()
			explicit, start = true, line
			// Content after the marker ("--- |", "--- !tag") belongs to the document.
			cur = append(cur, bytes.TrimLeft(l[3:], " \t")...)
		case isMarker(l, "..."):
			flush()
			start = line + 1
		default:
			if cur == nil && !explicit {
				start = line
			}
			cur = append(cur, l...)
		}
	}
	flush()
	return docs
}

// isMarker reports whether line is the document marker m followed by
// nothing, blanks or a comment.
func isMarker(line []byte, m string) bool {
	if !bytes.HasPrefix(line, []byte(m)) {
		return false
	}
	rest := line[len(m):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
}

// hasContent reports whether a document holds more than blanks, comments and
// directives.
func hasContent(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' && l[0] != '%' {
			return true
		}
	}
	return false
}

// mayHoldImages is a cheap test that spares the YAML parser most documents
// that cannot hold an image: every source has an "image" key, a *_IMAGE
// name, or sits in a ConfigMap. CRDs (big, and never a source) are skipped
// by their top-level kind line.
func mayHoldImages(body []byte) bool {
	if isCRD(body) {
		return false
	}
	return caseInsensitiveContains(body, "image") || bytes.Contains(body, []byte("ConfigMap"))
}

// isCRD reports whether a block-style document has a top-level (column 0)
// "kind: CustomResourceDefinition" line.
func isCRD(body []byte) bool {
	for rest := body; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		v, ok := bytes.CutPrefix(line, []byte("kind:"))
		if !ok {
			continue
		}
		if i := bytes.Index(v, []byte(" #")); i >= 0 {
			v = v[:i]
		}
		v = bytes.Trim(bytes.TrimSpace(v), `"'`)
		return string(v) == "CustomResourceDefinition"
	}
	return false
}

func caseInsensitiveContains(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		if b[i]|0x20 == lower[0] && bytes.EqualFold(b[i:i+len(lower)], []byte(lower)) {
			return true
		}
	}
	return false
}

// decode parses one document into generic values (maps with string keys,
// as Kubernetes reads YAML). A parser panic on hostile input becomes an error.
func decode(body []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml parser failed: %v", r)
		}
	}()
	if err := yaml.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}
