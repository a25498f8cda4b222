package deployer

import (
	"bufio"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

// RootfsDir is where the rootfs goes on the hosts.
const RootfsDir = "/var/lib/sealpack/rootfs"

// distribute copies the rootfs to the hosts over SFTP: master0 gets all of it
// (CMD lines may use any file), the other hosts what they need to become
// nodes (bin/, etc/, scripts/). Files already present with the right sha256
// are skipped, a half-copied file resumes, and every copy is verified.
// bin/* is then installed into /usr/local/bin.
type distribute struct{}

func (distribute) Name() string { return event.Distribute }

// nodeDirs are what a host other than master0 receives.
var nodeDirs = []string{"bin/", "etc/", "scripts/"}

// imagesDir is served by the registry, not copied.
const imagesDir = "images/"

// filesFor lists the rootfs files host ip receives.
func (r *run) filesFor(ip string) []payload.File {
	var out []payload.File
	for _, f := range r.opts.Payload.Index().Files {
		if f.Type == payload.TypeDir || strings.HasPrefix(f.Path, imagesDir) {
			continue
		}
		if ip != r.master0 && !hasAnyPrefix(f.Path, nodeDirs) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (r *run) distributeBytes(ip string) int64 {
	var n int64
	for _, f := range r.filesFor(ip) {
		n += f.Size
	}
	return n
}

// Total is the bytes the phase moves, for its progress bar.
func (distribute) Total(r *run) int64 {
	var n int64
	for _, ip := range r.targets {
		if !r.state.Done(event.Distribute, ip) {
			n += r.distributeBytes(ip)
		}
	}
	return n
}

func (d distribute) Plan(r *run) []string {
	var out []string
	for _, ip := range r.targets {
		if r.state.Done(event.Distribute, ip) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: copy %d files (%s) to %s, install bin/* into /usr/local/bin",
			ip, len(r.filesFor(ip)), payload.HumanBytes(r.distributeBytes(ip)), RootfsDir))
	}
	return out
}

func (d distribute) Run(ctx context.Context, r *run) error {
	return parallel(ctx, r.targets, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		return r.step(ctx, event.Distribute, ip, func(ctx context.Context) error { return d.host(ctx, r, ip) })
	})
}

func (d distribute) host(ctx context.Context, r *run, ip string) error {
	files := r.filesFor(ip)
	have, err := remoteSums(ctx, r, ip, files)
	if err != nil {
		return err
	}
	total := r.distributeBytes(ip)
	var done atomic.Int64
	progress := func(n int64) {
		r.emit(event.Event{Type: event.Progress, Phase: event.Distribute, Host: ip, Done: done.Add(n), Total: total})
	}
	var links []string
	c := r.conn(ip)
	copied := 0
	for _, f := range files {
		dst := path.Join(RootfsDir, f.Path)
		switch {
		case f.Type == payload.TypeSymlink:
			links = append(links, fmt.Sprintf("mkdir -p %s && ln -sfn %s %s", shq(path.Dir(dst)), shq(f.Target), shq(dst)))
			continue
		case have[dst] == strings.TrimPrefix(f.Digest, "sha256:"):
			progress(f.Size)
			continue
		}
		ra, err := r.opts.Payload.ReaderAt(f.Digest)
		if err != nil {
			return err
		}
		if err := c.Upload(ctx, ra, f.Size, dst, uint32(f.Mode.Perm()), progress); err != nil {
			return fmt.Errorf("copying %s: %w", f.Path, err)
		}
		copied++
	}
	r.logs.Printf(event.Distribute, ip, "%d of %d files copied, the rest were already there", copied, len(files))
	// Verify what landed, then install the binaries.
	after, err := remoteSums(ctx, r, ip, files)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Type != payload.TypeFile {
			continue
		}
		if dst := path.Join(RootfsDir, f.Path); after[dst] != strings.TrimPrefix(f.Digest, "sha256:") {
			return fmt.Errorf("%s: checksum mismatch after copy", dst)
		}
	}
	script := strings.Join(links, "\n") + `
if [ -d ` + RootfsDir + `/bin ]; then
  for f in ` + RootfsDir + `/bin/*; do
    [ -f "$f" ] && install -m 0755 "$f" /usr/local/bin/ || true
  done
fi
`
	_, err = r.exec(ctx, event.Distribute, ip, script, nil)
	return err
}

// remoteSums returns sha256 (hex) of the files that exist on the host.
func remoteSums(ctx context.Context, r *run, ip string, files []payload.File) (map[string]string, error) {
	var paths []string
	for _, f := range files {
		if f.Type == payload.TypeFile {
			paths = append(paths, shq(path.Join(RootfsDir, f.Path)))
		}
	}
	sort.Strings(paths)
	sums := map[string]string{}
	// Batches keep each command line short.
	for len(paths) > 0 {
		n := min(len(paths), 200)
		out, err := r.conn(ip).Run(ctx, "sha256sum "+strings.Join(paths[:n], " ")+" 2>/dev/null; true", nil, nil)
		if err != nil {
			return nil, fmt.Errorf("checking files: %w", err)
		}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			if sum, p, ok := strings.Cut(sc.Text(), "  "); ok {
				sums[p] = sum
			}
		}
		paths = paths[n:]
	}
	return sums, nil
}

// shq quotes s for a POSIX shell.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
