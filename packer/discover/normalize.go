package discover

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Normalize returns the fully-qualified form of an image reference, as Docker
// does: docker.io/ and library/ are added to familiar names, :latest to a name
// without tag or digest. A digest is kept, and so is a tag next to it.
func Normalize(ref string) (string, error) {
	named, err := parse(ref)
	if err != nil {
		return "", err
	}
	return reference.TagNameOnly(named).String(), nil
}

func parse(ref string) (reference.Named, error) {
	s := strings.TrimSpace(ref)
	if s == "" {
		return nil, fmt.Errorf("image reference %q: empty", ref)
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return named, nil
}
