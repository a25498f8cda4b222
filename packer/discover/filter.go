package discover

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// Filter merges the references found with those of --image-list (add),
// drops those matching an --ignore-image pattern, and returns them
// normalized, sorted and unique.
//
// A pattern matches a reference when it is
//   - a path.Match glob of the normalized or the familiar form
//     ("docker.io/library/nginx:*", "nginx:*", "quay.io/*/*:v1*");
//   - a prefix of the normalized form ("quay.io/prometheus/");
//   - a reference naming the same image: "busybox" drops every
//     docker.io/library/busybox tag, "busybox:1.36" only that one.
func Filter(images []string, add []string, ignore []string) ([]string, error) {
	for _, p := range ignore {
		if p == "" {
			return nil, fmt.Errorf("--ignore-image: empty pattern")
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("--ignore-image %q: %w", p, err)
		}
	}
	out := make([]string, 0, len(images)+len(add))
	for _, group := range [...]struct {
		what string
		refs []string
	}{{"image", images}, {"--image-list entry", add}} {
		for _, s := range group.refs {
			named, err := parse(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", group.what, err)
			}
			named = reference.TagNameOnly(named)
			if !slices.ContainsFunc(ignore, func(p string) bool { return ignored(named, p) }) {
				out = append(out, named.String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func ignored(ref reference.Named, pattern string) bool {
	full := ref.String()
	familiar := reference.FamiliarString(ref)
	if ok, _ := path.Match(pattern, full); ok {
		return true
	}
	if ok, _ := path.Match(pattern, familiar); ok {
		return true
	}
	if strings.HasPrefix(full, pattern) {
		return true
	}
	// "quay.io/*" means everything under quay.io, whatever the depth
	// (path.Match's * stops at a slash).
	if dir, ok := strings.CutSuffix(pattern, "/*"); ok && !strings.ContainsAny(dir, "*?[\\") && strings.HasPrefix(full, dir+"/") {
		return true
	}
	if strings.ContainsAny(pattern, "*?[\\") {
		return false
	}
	p, err := reference.ParseNormalizedNamed(pattern)
	if err != nil {
		return false
	}
	if p.Name() != ref.Name() {
		return false
	}
	if t, ok := p.(reference.Tagged); ok {
		if rt, ok := ref.(reference.Tagged); !ok || rt.Tag() != t.Tag() {
			return false
		}
	}
	if d, ok := p.(reference.Digested); ok {
		if rd, ok := ref.(reference.Digested); !ok || rd.Digest() != d.Digest() {
			return false
		}
	}
	return true
}
