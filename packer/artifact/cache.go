package artifact

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealpack/sealpack/payload"
)

// Fetcher returns a packer.BuildOptions.Bases: it resolves a FROM's
// reference for the build's platform and keeps the installer in
// cacheDir/installers/<manifest hex>.run, so a rebuild FROM the same tag
// costs one manifest request (and a config) once the base is there.
func Fetcher(cacheDir string, o Options) func(ctx context.Context, ref, platform string) (string, error) {
	return func(ctx context.Context, ref, platform string) (string, error) {
		if err := o.defaults(); err != nil {
			return "", err
		}
		a, err := Describe(ctx, ref, platform, o)
		if err != nil {
			return "", err
		}
		dir := filepath.Join(cacheDir, "installers")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("installer cache: %w", err)
		}
		path := filepath.Join(dir, strings.TrimPrefix(a.Digest, "sha256:")+".run")
		if r, err := payload.Open(path); err == nil {
			same := r.Digest() == a.Config.Installer.Digest
			r.Close()
			if same {
				fmt.Fprintf(o.Log, "base %s: cached %s\n", ref, path)
				return path, nil
			}
		}
		if _, err := a.WriteTo(ctx, path, o); err != nil {
			return "", err
		}
		return path, nil
	}
}
