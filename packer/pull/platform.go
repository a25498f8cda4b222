package pull

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// platform is an os/arch[/variant] triple.
type platform struct{ os, arch, variant string }

func parsePlatform(s string) (platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return platform{}, fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	p := platform{os: strings.ToLower(parts[0]), arch: strings.ToLower(parts[1])}
	if len(parts) == 3 {
		p.variant = strings.ToLower(parts[2])
	}
	return p, nil
}

func fromV1(p *v1.Platform) platform {
	if p == nil {
		return platform{}
	}
	return platform{os: p.OS, arch: p.Architecture, variant: p.Variant}
}

func (p platform) String() string {
	s := p.os + "/" + p.arch
	if p.variant != "" {
		s += "/" + p.variant
	}
	return s
}

// normal folds the variants that mean the default, as containerd does:
// arm64 is v8, amd64 is v1, and arm without a variant is v7.
func (p platform) normal() platform {
	switch {
	case p.arch == "arm64" && p.variant == "v8", p.arch == "amd64" && p.variant == "v1":
		p.variant = ""
	case p.arch == "arm" && p.variant == "":
		p.variant = "v7"
	}
	return p
}

// accepts reports whether an image of platform have runs where p was asked
// for. A request without a variant takes any variant, except for arm whose
// default variant is v7.
func (p platform) accepts(have platform) bool {
	want, have := p.normal(), have.normal()
	if want.os != have.os || want.arch != have.arch {
		return false
	}
	return want.variant == have.variant || (p.variant == "" && p.arch != "arm")
}
