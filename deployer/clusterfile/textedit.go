package clusterfile

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"
)

// source is a file's text indexed by line, for edits that change a few
// bytes and leave every other byte as the user wrote it.
type source struct {
	data   []byte
	starts []int  // byte offset of each line's start; line n is starts[n-1]
	nl     string // the file's line ending
}

func newSource(data []byte) *source {
	s := &source{data: data, starts: []int{0}, nl: "\n"}
	for i, b := range data {
		if b == '\n' {
			s.starts = append(s.starts, i+1)
		}
	}
	if bytes.Contains(data, []byte("\r\n")) {
		s.nl = "\r\n"
	}
	return s
}

func (s *source) lines() int { return len(s.starts) }

func (s *source) lineStart(line int) int {
	if line < 1 {
		return 0
	}
	if line > len(s.starts) {
		return len(s.data)
	}
	return s.starts[line-1]
}

// lineEnd is the offset just after line's newline (or the end of the file).
func (s *source) lineEnd(line int) int {
	if line >= len(s.starts) {
		return len(s.data)
	}
	return s.starts[line]
}

// line returns the text of a line without its line ending.
func (s *source) line(line int) []byte {
	return bytes.TrimRight(s.data[s.lineStart(line):s.lineEnd(line)], "\r\n")
}

// offset converts a YAML position (1-based line, 1-based column counted in
// characters) to a byte offset.
func (s *source) offset(line, col int) int {
	off := s.lineStart(line)
	text := s.line(line)
	for i := 1; i < col && len(text) > 0; i++ {
		_, size := utf8.DecodeRune(text)
		text = text[size:]
		off += size
	}
	return off
}

func (s *source) indent(line int) int {
	text := s.line(line)
	return len(text) - len(bytes.TrimLeft(text, " "))
}

func (s *source) blank(line int) bool { return len(bytes.TrimSpace(s.line(line))) == 0 }

func (s *source) comment(line int) bool {
	return bytes.HasPrefix(bytes.TrimSpace(s.line(line)), []byte("#"))
}

// tokenEnd returns the end of the scalar starting at off: a quoted scalar
// ends at its closing quote, a plain one after value (which must be there).
func (s *source) tokenEnd(off int, value string) (int, bool) {
	if off >= len(s.data) {
		return 0, false
	}
	switch q := s.data[off]; q {
	case '"', '\'':
		for i := off + 1; i < len(s.data); i++ {
			switch {
			case q == '"' && s.data[i] == '\\':
				i++
			case s.data[i] == q && q == '\'' && i+1 < len(s.data) && s.data[i+1] == '\'':
				i++
			case s.data[i] == q:
				return i + 1, true
			case s.data[i] == '\n':
				return 0, false
			}
		}
		return 0, false
	}
	if bytes.HasPrefix(s.data[off:], []byte(value)) {
		return off + len(value), true
	}
	return 0, false
}

// flowEnd returns the offset after the ']' that closes the flow sequence
// opening at off.
func (s *source) flowEnd(off int) (int, bool) {
	depth := 0
	for i := off; i < len(s.data); i++ {
		switch c := s.data[i]; c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case '"', '\'':
			end, ok := s.tokenEnd(i, "")
			if !ok {
				return 0, false
			}
			i = end - 1
		case '#':
			if i > 0 && (s.data[i-1] == ' ' || s.data[i-1] == '\t') {
				for i < len(s.data) && s.data[i] != '\n' {
					i++
				}
			}
		}
	}
	return 0, false
}

// edit replaces data[start:end] with text; start == end inserts.
type edit struct {
	start, end int
	text       string
}

// apply performs non-overlapping edits; insertions at one offset keep the
// order in which they were listed.
func (s *source) apply(edits []edit) ([]byte, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.start < pos || e.end < e.start || e.end > len(s.data) {
			return nil, fmt.Errorf("overlapping edits at byte %d", e.start)
		}
		out.Write(s.data[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(s.data[pos:])
	return out.Bytes(), nil
}
