package deployer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// RootfsDir is where the rootfs goes on the hosts.
const RootfsDir = stateDir + "/rootfs"

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
		if done, _ := r.state.Current(event.Distribute, ip, r.distributeInputs(ip)); !done {
			n += r.distributeBytes(ip)
		}
	}
	return n
}

func (d distribute) Plan(r *run) []string {
	var out []string
	for _, ip := range r.targets {
		done, why := r.state.Current(event.Distribute, ip, r.distributeInputs(ip))
		if done {
			continue
		}
		line := fmt.Sprintf("%s: copy %d files (%s) to %s (those already there are kept), install bin/* into /usr/local/bin",
			ip, len(r.filesFor(ip)), payload.HumanBytes(r.distributeBytes(ip)), RootfsDir)
		if why != "" {
			line += "; " + why
		}
		out = append(out, line)
	}
	return out
}

func (d distribute) Run(ctx context.Context, r *run) error {
	return parallel(ctx, r.targets, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		return r.step(ctx, event.Distribute, ip, r.distributeInputs(ip), func(ctx context.Context) error { return d.host(ctx, r, ip) })
	})
}

// filesPerHost is how many files go to one host at once: small files are
// mostly round trips, which overlap on the host's one SFTP session.
const filesPerHost = 4

// verifyAlone is the size from which a copy is verified (and put in place)
// as soon as it has arrived, while the next files travel; smaller ones are
// verified together at the end, one command for all.
const verifyAlone = 1 << 20

// partSuffix marks a file being copied; it is renamed into place only once
// its checksum is verified, so a file at its final path is always whole.
const partSuffix = ".part"

func (d distribute) host(ctx context.Context, r *run, ip string) error {
	files := r.filesFor(ip)
	total := r.distributeBytes(ip)
	var done atomic.Int64
	progress := func(n int64) {
		r.emit(event.Event{Type: event.Progress, Phase: event.Distribute, Host: ip, Done: done.Add(n), Total: total})
	}
	tc, err := r.copyTree(ctx, event.Distribute, ip, RootfsDir, files, progress)
	if err != nil {
		return err
	}
	r.logs.Printf(event.Distribute, ip, "%d of %d files copied (%d more duplicated on the host), the rest were already there", tc.copied+len(tc.dups), len(files), len(tc.dups))
	_, err = r.exec(ctx, event.Distribute, ip, finishScript(files), nil)
	return err
}

// copyProgram puts the installer program alone at exe on host ip (kept when
// already there) and returns the bytes it sent.
func (r *run) copyProgram(ctx context.Context, phase, ip, exe string) (int64, error) {
	idx := r.opts.Payload.Index()
	stub := payload.File{Path: path.Base(exe), Type: payload.TypeFile, Mode: 0o755, Size: idx.StubSize, Digest: "sha256:" + idx.StubSHA256}
	tc, err := r.copyTree(ctx, phase, ip, path.Dir(exe), []payload.File{stub}, func(int64) {})
	if err != nil {
		return 0, fmt.Errorf("host %s: copying the installer program to %s: %w", ip, exe, err)
	}
	r.logs.Printf(phase, ip, "installer program at %s: %s sent", exe, payload.HumanBytes(tc.sent))
	return tc.sent, nil
}

// treeCopy is what copyTree did.
type treeCopy struct {
	copied int         // files copied
	dups   [][2]string // source, destination: contents duplicated on the host
	sent   int64       // bytes written to the host
}

// copyTree puts files (their paths relative to root) under root on host
// ip: what is there with the right sha256 is kept, a content wanted at
// several paths is copied once and duplicated on the host, an interrupted
// copy resumes, and every copy is verified before it
// is put in place. progress is told the bytes as they go, and at once the
// bytes that need not go.
func (r *run) copyTree(ctx context.Context, phase, ip, root string, files []payload.File, progress func(int64)) (treeCopy, error) {
	var tc treeCopy
	c := r.conn(ip)
	if c == nil {
		return tc, r.notConnected(ip)
	}
	have, parts, err := survey(ctx, c, root, files)
	if err != nil {
		return tc, err
	}
	var copies []payload.File
	byDigest := map[string]string{}
	for _, f := range files {
		if f.Type == payload.TypeFile && have[f.Path] == hexDigest(f.Digest) {
			byDigest[f.Digest] = f.Path
		}
	}
	for _, f := range files {
		if f.Type != payload.TypeFile || have[f.Path] == hexDigest(f.Digest) {
			continue
		}
		if src, ok := byDigest[f.Digest]; ok {
			tc.dups = append(tc.dups, [2]string{src, f.Path})
			continue
		}
		byDigest[f.Digest] = f.Path
		copies = append(copies, f)
	}
	progress(sizeOf(files) - sizeOf(copies))
	var mu sync.Mutex
	var small []payload.File // copied, to verify together
	var sent atomic.Int64
	err = eachUntilError(ctx, len(copies), filesPerHost, func(ctx context.Context, i int) error {
		f := copies[i]
		resumed, err := copyFile(ctx, r, c, root, f, parts[f.Path], progress)
		sent.Add(f.Size - resumed)
		if resumed > 0 {
			r.logs.Printf(phase, ip, "%s: resumed an interrupted copy at byte %d of %d", f.Path, resumed, f.Size)
		}
		if err != nil {
			return fmt.Errorf("copying %s: %w", f.Path, err)
		}
		if f.Size < verifyAlone {
			mu.Lock()
			small = append(small, f)
			mu.Unlock()
			return nil
		}
		return place(ctx, c, root, []payload.File{f})
	})
	if err != nil {
		return tc, err
	}
	if err := place(ctx, c, root, small); err != nil {
		return tc, err
	}
	if len(tc.dups) > 0 {
		if _, err := r.exec(ctx, phase, ip, dupScript(root, tc.dups), nil); err != nil {
			return tc, fmt.Errorf("duplicating files on the host: %w", err)
		}
	}
	tc.copied, tc.sent = len(copies), sent.Load()
	return tc, nil
}

// content is the bytes of f: a blob of the payload, or the installer
// program, which is addressed by its sha256 like any file.
func (r *run) content(f payload.File) (io.ReaderAt, error) {
	idx := r.opts.Payload.Index()
	if _, ok := r.opts.Payload.Blob(f.Digest); !ok && f.Digest == "sha256:"+idx.StubSHA256 {
		return r.opts.Payload.Stub(), nil
	}
	return r.opts.Payload.ReaderAt(f.Digest)
}

func hexDigest(d string) string { return strings.TrimPrefix(d, "sha256:") }

func sizeOf(files []payload.File) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// copyFile copies f to its .part beside its final path, going on from
// where an interrupted copy stopped when the bytes there are the file's.
func copyFile(ctx context.Context, r *run, c Remote, root string, f payload.File, partSize int64, progress func(int64)) (resumed int64, err error) {
	ra, err := r.content(f)
	if err != nil {
		return 0, err
	}
	part := path.Join(root, f.Path) + partSuffix
	if partSize > 0 && partSize <= f.Size {
		out, err := c.Run(ctx, "sha256sum < "+shell.Quote(part), nil, nil)
		if err != nil {
			return 0, fmt.Errorf("checking the partial copy: %w", err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(ra, 0, partSize)); err != nil {
			return 0, err
		}
		if remote, _, _ := strings.Cut(strings.TrimSpace(out), " "); remote == hex.EncodeToString(h.Sum(nil)) {
			resumed = partSize
		}
	}
	progress(resumed)
	src := &countingReader{r: io.NewSectionReader(ra, resumed, f.Size-resumed), f: progress}
	return resumed, c.WriteFile(ctx, src, part, uint32(f.Mode.Perm()), resumed)
}
