package packer

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sealpack/sealpack/packer/discover"
	"github.com/sealpack/sealpack/packer/pull"
)

// Extras are references that discovery found outside pod-spec image fields.
// They are guesses, so the build says each one it adds, and where it read
// it, for the user to check; a guess that is wrong shows up as a failed pull,
// which then says how to leave it out.

// reportExtras writes one line per extra image: carried, with the place that
// names it, or left out by --skip-extra-images. Extras that an IMAGE line,
// images.txt or --image-list carries anyway are not news, and one that
// --ignore-image drops was the user's choice: neither is mentioned.
func reportExtras(log io.Writer, extras []discover.Image, carried []string, skipped bool) {
	for _, x := range extras {
		_, in := slices.BinarySearch(carried, x.Ref)
		switch {
		case in && !skipped:
			fmt.Fprintf(log, "images: extra image %s, named at %s\n", x.Ref, where(x.Sources))
		case !in && skipped:
			fmt.Fprintf(log, "warning: extra image %s left out (--skip-extra-images), named at %s\n", x.Ref, where(x.Sources))
		}
	}
}

// where names the first place a reference was found, and how many more.
func where(sources []discover.Source) string {
	if len(sources) == 0 {
		return "an unknown place"
	}
	s := sources[0].String()
	switch n := len(sources) - 1; n {
	case 0:
	case 1:
		s += " (and 1 more place)"
	default:
		s += fmt.Sprintf(" (and %d more places)", n)
	}
	return s
}

// explainExtras adds to a pull failure, for each image that failed and is
// an extra, where it was named and how to leave it out: the reference may be
// a guess that is no image at all.
func explainExtras(err error, extras []discover.Image) error {
	var notes []string
	for _, ref := range failedImages(err) {
		i, found := slices.BinarySearchFunc(extras, ref, func(im discover.Image, ref string) int { return strings.Compare(im.Ref, ref) })
		if found {
			notes = append(notes, fmt.Sprintf("%s is an extra image, named at %s: if it is no image, --ignore-image %s or --skip-extra-images leaves it out",
				ref, where(extras[i].Sources), ref))
		}
	}
	if len(notes) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s", err, strings.Join(notes, "\n"))
}

// failedImages returns the images of the pull errors in err, whether it is
// one failure or several joined.
func failedImages(err error) []string {
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range multi.Unwrap() {
			out = append(out, failedImages(e)...)
		}
		return out
	}
	var pe *pull.PullError
	if errors.As(err, &pe) {
		return []string{pe.Image}
	}
	return nil
}
