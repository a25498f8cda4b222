package discover

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// listEntry is one reference of an image list with its line.
type listEntry struct {
	ref, raw string
	line     int
}

// ReadImageList reads a list of image references (images.txt, --image-list):
// one per line; blank lines and # comments are skipped. It returns them
// normalized, in file order.
func ReadImageList(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("image list: %w", err)
	}
	entries, err := parseImageList(data, file)
	if err != nil {
		return nil, err
	}
	refs := make([]string, len(entries))
	for i, e := range entries {
		refs[i] = e.ref
	}
	return refs, nil
}

func parseImageList(data []byte, name string) ([]listEntry, error) {
	var out []listEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.Index(text, "#"); i >= 0 && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t') {
			text = text[:i] // a comment line, or a comment after the reference
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if strings.ContainsAny(text, " \t") {
			return nil, fmt.Errorf("%s:%d: %q: want one image reference per line", name, line, text)
		}
		ref, err := Normalize(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, listEntry{ref: ref, raw: text, line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
