package packer

import (
	"context"
	"strings"

	"github.com/sealpack/sealpack/packer/kubefile"
)

// fromRegistry builds FROM an installer published in a registry
// (FROM registry.example.com/bases/k8s:v1.34): opts.Bases fetches it for
// the build's platform into its cache, then it is a base like any installer.
func (b *builder) fromRegistry(ctx context.Context, f kubefile.From) error {
	if b.opts.Bases == nil {
		return kubefile.Errorf(f.Pos, "FROM %s: a registry reference, and this build cannot fetch installers from registries", f.Ref)
	}
	p, err := b.opts.Bases(ctx, f.Ref, b.opts.Platform)
	if err != nil {
		return kubefile.Errorf(f.Pos, "FROM %s: %w", f.Ref, err)
	}
	return b.fromInstaller(f, p)
}

// IsRegistryRef reports whether ref, which is no file, names a registry
// reference rather than a path: a path starts with / ./ ../ (or exists,
// which callers check first); a reference names its registry host first (a
// '.' or ':' in it, or localhost), as registry.example.com/bases/k8s:v1.34
// does. A bare name (base.run, app:1.0) is a path: as a reference it would
// mean Docker Hub, which never holds installers.
func IsRegistryRef(ref string) bool {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || rest == "" || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") {
		return false
	}
	return strings.ContainsAny(host, ".:") || host == "localhost"
}
