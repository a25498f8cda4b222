package main

import (
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// stubFS holds the prebuilt installer programs, one per platform, put there
// by `make` (stubs/stub-linux-amd64, stubs/stub-linux-arm64): copying the
// sealpack binary is all a build machine needs.
//
//go:embed stubs
var stubFS embed.FS

// stubDirEnv points at a directory of stubs instead (tests, development).
const stubDirEnv = "SEALPACK_STUB_DIR"

// openStub returns the installer program for platform ("linux/amd64").
func openStub(platform string) (io.ReadCloser, error) {
	name := "stub-" + strings.ReplaceAll(platform, "/", "-")
	if dir := os.Getenv(stubDirEnv); dir != "" {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("installer program for %s: %w (%s=%s)", platform, err, stubDirEnv, dir)
		}
		return f, nil
	}
	// Opened, not read whole: the embedded bytes are read in place.
	f, err := stubFS.Open("stubs/" + name)
	if err != nil {
		return nil, fmt.Errorf("this sealpack was built without the installer program for %s: build it with `make`", platform)
	}
	return f, nil
}
