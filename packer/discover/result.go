package discover

import (
	"fmt"
	"slices"
	"strings"
)

// Source says where a reference was found, for build messages.
type Source struct {
	// File is the slash-separated path relative to the rootfs: a YAML file,
	// an images.txt, or the directory (or archive) of a Helm chart.
	File string
	// Template is the chart template that rendered the document
	// ("mychart/templates/deployment.yaml"); empty outside charts.
	Template string
	// Doc is the 0-based index of the YAML document in File (or in the
	// rendered Template); -1 when it does not apply.
	Doc int
	// Line is the 1-based line of an images.txt entry; 0 otherwise.
	Line int
	// Object is "Kind/name" of the object holding the reference.
	Object string
	// Field is the path inside the object, e.g. "containers[nginx].image".
	Field string
	// Raw is the reference as written.
	Raw string
}

func (s Source) String() string {
	var b strings.Builder
	switch {
	case s.Line > 0:
		fmt.Fprintf(&b, "%s:%d", s.File, s.Line)
	case s.Template != "":
		fmt.Fprintf(&b, "%s (rendered %s#%d)", s.File, s.Template, s.Doc)
	case s.Doc >= 0:
		fmt.Fprintf(&b, "%s#%d", s.File, s.Doc)
	default:
		b.WriteString(s.File)
	}
	if s.Object != "" {
		b.WriteString(" " + s.Object)
	}
	if s.Field != "" {
		b.WriteString(" " + s.Field)
	}
	return b.String()
}

// Image is one normalized reference and every place it was found.
type Image struct {
	Ref     string
	Sources []Source
}

// Warning is something discovery skipped; the build goes on.
type Warning struct {
	Source  Source
	Message string
}

func (w Warning) String() string { return w.Source.String() + ": " + w.Message }

// Result is what Find discovered.
type Result struct {
	// Images are the references to carry, sorted and unique: pod-spec
	// images, images.txt entries, and the extras when Options.IncludeExtras.
	Images []Image
	// Extras are references found outside pod-spec image fields (args,
	// command, env values, Pod YAML inside ConfigMaps, spec.image of custom
	// resources). They may repeat a reference that is also in Images.
	Extras []Image
	// Warnings list documents and values that were skipped.
	Warnings []Warning
	// KubeVersion is the Kubernetes version charts were rendered for.
	KubeVersion string

	extraOnly []Image // Extras that no pod spec or images.txt names
}

// Refs returns the references of Images.
func (r *Result) Refs() []string {
	out := make([]string, len(r.Images))
	for i, im := range r.Images {
		out[i] = im.Ref
	}
	return out
}

// UncarriedExtras returns the extras that are not in Images: the ones a build
// log should warn about.
func (r *Result) UncarriedExtras() []Image {
	var out []Image
	for _, e := range r.Extras {
		if _, found := slices.BinarySearchFunc(r.Images, e.Ref, cmpRef); !found {
			out = append(out, e)
		}
	}
	return out
}

// ExtraOnly returns the extras that no pod spec or images.txt names: what
// Options.IncludeExtras adds to Images, whether it was set or not, so that a
// build can say what carrying them (or leaving them out) changes.
func (r *Result) ExtraOnly() []Image { return r.extraOnly }

func cmpRef(im Image, ref string) int { return strings.Compare(im.Ref, ref) }

// collector gathers references by normalized form while walking.
type collector struct {
	pod      map[string]*Image
	extra    map[string]*Image
	warnings []Warning
}

func newCollector() *collector {
	return &collector{pod: map[string]*Image{}, extra: map[string]*Image{}}
}

func (c *collector) add(extra bool, ref string, src Source) {
	m := c.pod
	if extra {
		m = c.extra
	}
	im := m[ref]
	if im == nil {
		im = &Image{Ref: ref}
		m[ref] = im
	}
	im.Sources = append(im.Sources, src)
}

func (c *collector) warn(src Source, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{Source: src, Message: fmt.Sprintf(format, args...)})
}

func (c *collector) result(includeExtras bool) *Result {
	r := &Result{Extras: sorted(c.extra), Warnings: c.warnings}
	for _, e := range r.Extras {
		if c.pod[e.Ref] == nil {
			r.extraOnly = append(r.extraOnly, e)
		}
	}
	all := c.pod
	if includeExtras {
		all = make(map[string]*Image, len(c.pod)+len(c.extra))
		for ref, im := range c.pod {
			all[ref] = &Image{Ref: ref, Sources: slices.Clone(im.Sources)}
		}
		for ref, im := range c.extra {
			if a := all[ref]; a != nil {
				a.Sources = append(a.Sources, im.Sources...)
			} else {
				all[ref] = &Image{Ref: ref, Sources: slices.Clone(im.Sources)}
			}
		}
	}
	r.Images = sorted(all)
	return r
}

func sorted(m map[string]*Image) []Image {
	out := make([]Image, 0, len(m))
	for _, im := range m {
		out = append(out, *im)
	}
	slices.SortFunc(out, func(a, b Image) int { return strings.Compare(a.Ref, b.Ref) })
	return out
}
