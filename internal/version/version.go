// Package version holds the release version, set at link time by the Makefile:
// -ldflags "-X github.com/sealpack/sealpack/internal/version.Version=v0.1.0".
package version

// Version is the sealpack release this binary belongs to.
var Version = "dev"
