// Package packer is the engine of `sealpack build`: it runs a Kubefile's
// instructions over a build context and writes the installer (a prebuilt stub
// followed by a payload).
package packer

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// Platforms returns the targets an installer can be built for.
func Platforms() []string { return []string{"linux/amd64", "linux/arm64"} }

// BuildOptions configure one Build.
type BuildOptions struct {
	Kubefile   string            // path of the Kubefile; default ContextDir/Kubefile
	ContextDir string            // build context: COPY sources and relative FROM paths; default "."
	Output     string            // installer to write
	Platform   string            // linux/amd64 or linux/arm64
	BuildArgs  map[string]string // --build-arg: override ARG defaults
	SplitSize  int64             // > 0: data in parts of at most this many bytes
	// Stub returns the prebuilt installer program for a platform.
	Stub func(platform string) (io.ReadCloser, error)
	Log  io.Writer // progress lines; nil discards them
	// Progress, when set, is told the bytes to compress once (done 0,
	// total N) and then each amount read (done n, total 0), from the one
	// goroutine that reads sources.
	Progress func(done, total int64)
	// Images carries container images (IMAGE lines, images named by the
	// rootfs); nil: the build carries only the images inherited from FROM.
	Images ImageStep
	// Bases fetches the base of a FROM that names a registry reference
	// (FROM registry.example.com/bases/k8s:v1.34) for platform and returns
	// the path of the installer, kept in a cache; it runs under the build's
	// context. Nil: such a FROM is an error that says so.
	Bases func(ctx context.Context, ref, platform string) (string, error)
	// TempDir holds the rootfs while RUN instructions need a real tree;
	// default os.TempDir().
	TempDir string
	// DryRun: the image step only lists the images (--dry-run). RUN
	// instructions still run, since what they write may name images; the
	// log says so at the first one.
	DryRun bool
	// Sign, when set, signs the installer as it is written
	// (payload.WithSigner): sealpack build --sign-key.
	Sign payload.Signer
	// NoSBOM leaves the bill of materials out (a hidden --no-sbom, to
	// measure what the bill costs); by default every installer carries one.
	NoSBOM bool
}

// Result describes a written installer.
type Result struct {
	Output       string
	Parts        []string // split parts, beside Output
	Platform     string
	Files        int   // rootfs entries
	ContentBytes int64 // uncompressed bytes of the rootfs files
	PayloadBytes int64 // payload size (stub aside), parts included
	Labels       map[string]string
	Cmds         []string
	Images       []payload.Image
	Warnings     []string
}

// ImageStep finds and stores the images to carry. It runs after every
// instruction, once the rootfs is final; it adds blobs to req.Writer and
// returns the rootfs files it wrote (images/...: they replace entries at the
// same paths) and the complete image list of the installer.
type ImageStep func(ctx context.Context, req ImageRequest) (ImageResult, error)

// ImageRequest is the input of an ImageStep.
type ImageRequest struct {
	Rootfs    fs.FS           // the built rootfs (the FROM installer's images/ included)
	Lines     []ImageLine     // IMAGE references, in Kubefile order
	Inherited []payload.Image // images carried by the FROM installer
	Platform  string
	Writer    *payload.Writer
	Log       io.Writer
	// Materialize writes the rootfs into a directory, for code that needs real
	// paths; the directory is removed when Build returns.
	Materialize func(ctx context.Context) (dir string, err error)
}

// ImageLine is one reference of an IMAGE instruction.
type ImageLine struct {
	Ref string
	Pos kubefile.Pos // for messages: "Kubefile:7: pulling ...: ..."
}

// ImageResult is the output of an ImageStep.
type ImageResult struct {
	Files  []payload.File
	Images []payload.Image
	// Docs are the small documents the step stored (manifests, referrers,
	// images/index.json) by digest: the bill of materials reads them here.
	Docs map[string][]byte
}

// ValidPlatform reports whether an installer can be built for p.
func ValidPlatform(p string) error {
	for _, ok := range Platforms() {
		if p == ok {
			return nil
		}
	}
	return fmt.Errorf("platform %q is not supported (choose linux/amd64 or linux/arm64)", p)
}
