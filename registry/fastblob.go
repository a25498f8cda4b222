package registry

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"syscall"
	"time"
)

// blobRoute is a blob GET after the name: "/blobs/sha256:<hex>".
var blobRoute = regexp.MustCompile(`^/blobs/(sha256:[0-9a-f]{64})$`)

// serveRawBlob answers a GET for a raw layer itself, with sendfile(2) from
// the installer file to the socket, and reports whether it did.
//
// distribution serves blobs through its storage driver's io.ReadCloser,
// buffered and copied in user space, which reaches a fifth of what `cat`
// reads from the same file. Here the response is the same one distribution
// gives (headers, ranges, ETag), but from an *os.File of its own, so
// net/http hands the bytes to the kernel. Anything else (HEAD, compressed
// blobs, split installers, unknown blobs) goes to distribution.
func (s *server) serveRawBlob(w http.ResponseWriter, r *http.Request, repo, dg string) bool {
	rp := s.cat.repos[repo]
	if rp == nil || !rp.blobs[dg] {
		return false
	}
	sec, ok := s.cat.r.Section(dg)
	if !ok {
		return false
	}
	f, base, ok := fileOf(sec)
	if !ok {
		return false
	}
	own, err := reopen(f)
	if err != nil {
		s.log.WithError(err).Debug("blob: no file of its own, served by distribution")
		return false
	}
	defer own.Close()
	start := time.Now()
	h := w.Header()
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	h.Set("Docker-Content-Digest", dg)
	h.Set("ETag", `"`+dg+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	h.Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, &fileSection{f: own, base: base, size: sec.Size()})
	s.log.WithField("http.request.uri", r.URL.RequestURI()).WithField("http.response.duration", time.Since(start)).
		WithField("vars.name", repo).WithField("served", "sendfile").Info("response completed")
	return true
}

// fileOf finds the installer file and the offset of a section of it.
func fileOf(sec *io.SectionReader) (*os.File, int64, bool) {
	ra, off, _ := sec.Outer()
	for {
		switch x := ra.(type) {
		case *os.File:
			return x, off, true
		case *io.SectionReader:
			inner, o, _ := x.Outer()
			ra, off = inner, off+o
		default:
			return nil, 0, false
		}
	}
}

// reopen opens f again: sendfile reads from the file's own position, so
// every response needs an open file description of its own (a dup would
// share the position). /proc/self/fd holds even if the installer was moved.
func reopen(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	if err := rc.Control(func(d uintptr) { fd = d }); err != nil {
		return nil, err
	}
	return os.Open(fmt.Sprintf("/proc/self/fd/%d", fd))
}

// fileSection is a section of a file that keeps the file's position where
// it reads, so that net/http's sendfile path (which finds the file through
// syscall.Conn) continues from the right byte.
type fileSection struct {
	f    *os.File
	base int64
	size int64
	pos  int64
}

var _ syscall.Conn = (*fileSection)(nil)

func (s *fileSection) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.pos {
		p = p[:s.size-s.pos]
	}
	n, err := s.f.Read(p)
	s.pos += int64(n)
	return n, err
}

func (s *fileSection) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += s.pos
	case io.SeekEnd:
		off += s.size
	}
	if off < 0 || off > s.size {
		return s.pos, fmt.Errorf("seek to %d outside a blob of %d bytes", off, s.size)
	}
	if _, err := s.f.Seek(s.base+off, io.SeekStart); err != nil {
		return s.pos, err
	}
	if off < s.size && off != s.pos {
		readAhead(s.f, s.base+off, s.size-off)
	}
	s.pos = off
	return off, nil
}

// SyscallConn lets net/http send the file with sendfile(2); the length
// comes from the io.LimitedReader that http.ServeContent wraps around it.
func (s *fileSection) SyscallConn() (syscall.RawConn, error) { return s.f.SyscallConn() }
