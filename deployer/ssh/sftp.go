package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/pkg/sftp"

	"github.com/sealpack/sealpack/internal/shell"
)

// sftpConn is the SFTP client of a connection: the sftp subsystem for root,
// an sftp-server started through sudo for other users (so files land where
// root may write, owned by root).
type sftpConn struct {
	client  *sftp.Client
	cn      *conn
	release func() // the sudo session, when there is one
}

func (s *sftpConn) close() {
	s.client.Close()
	if s.release != nil {
		s.release()
	}
}

// sftpPacket is the payload size of SFTP reads and writes: OpenSSH's
// sftp-server takes up to 256 KiB messages, and fewer round trips matter on
// a fast link.
const sftpPacket = 128 << 10

func (c *Client) sftpClient(ctx context.Context) (*sftpConn, error) {
	cn, err := c.connection(ctx)
	if err != nil {
		return nil, err
	}
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != nil && c.sftp.cn == cn && cn.alive() {
		return c.sftp, nil
	}
	if c.sftp != nil {
		c.sftp.close()
		c.sftp = nil
	}
	opts := []sftp.ClientOption{sftp.MaxPacketUnchecked(sftpPacket), sftp.UseConcurrentWrites(true), sftp.UseConcurrentReads(true)}
	s := &sftpConn{cn: cn}
	mode := c.cfg.sudoMode()
	if mode == noSudo {
		s.client, err = sftp.NewClient(cn.client, opts...)
		if err != nil {
			return nil, c.connError(cn, "starting SFTP", err)
		}
	} else {
		st, err := c.start(ctx, sftpServerBody, mode, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("starting SFTP through sudo: %w", err)
		}
		s.release = st.release
		s.client, err = sftp.NewClientPipe(st.stdout, st.stdin, opts...)
		if err != nil {
			st.release()
			return nil, c.connError(cn, "starting SFTP through sudo", fmt.Errorf("%w: %s", err, st.stderr.tail()))
		}
	}
	c.sftp = s
	return s, nil
}

// dropSFTP forgets an SFTP client that failed below the file level, so the
// next call starts a new one.
func (c *Client) dropSFTP(s *sftpConn, err error) {
	var se *sftp.StatusError
	if errors.As(err, &se) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		if !errors.Is(err, sftp.ErrSSHFxConnectionLost) {
			return
		}
	}
	c.sftpMu.Lock()
	if c.sftp == s {
		c.sftp = nil
		s.close()
	}
	c.sftpMu.Unlock()
}

// watch closes the SFTP client when ctx ends, so that a transfer blocked
// on a dead network returns; the next call opens a new client.
func (c *Client) watch(ctx context.Context, s *sftpConn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.dropSFTP(s, sftp.ErrSSHFxConnectionLost) })
}

func (c *Client) fileError(s *sftpConn, ctx context.Context, what, p string, err error) error {
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	} else if lost := s.cn.lostCause(err); lost != nil {
		err = fmt.Errorf("%w (%v)", err, lost)
	}
	c.dropSFTP(s, err)
	return fmt.Errorf("host %s: %s %s: %w", c.host, what, p, err)
}

// Upload writes r to dst. With Offset(n) the first n bytes on the host are
// kept and r supplies the rest. Writes go out concurrently; after a failure
// the file is cut back to the length known to be written, so the host's
// size is a safe point to resume from (verify the result with Sha256).
func (c *Client) Upload(ctx context.Context, r io.Reader, dst string, mode fs.FileMode, opts ...UploadOption) error {
	o := NewUploadOptions(opts...)
	if !path.IsAbs(dst) {
		return fmt.Errorf("host %s: upload to %q: not an absolute path", c.host, dst)
	}
	if o.Offset < 0 {
		return fmt.Errorf("host %s: upload to %s: negative offset %d", c.host, dst, o.Offset)
	}
	s, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	defer c.watch(ctx, s)()
	if err := s.client.MkdirAll(path.Dir(dst)); err != nil {
		return c.fileError(s, ctx, "creating the directory of", dst, err)
	}
	flags := os.O_WRONLY | os.O_CREATE
	if o.Offset == 0 {
		flags |= os.O_TRUNC
	} else {
		fi, err := s.client.Stat(dst)
		if err != nil {
			return c.fileError(s, ctx, "resuming upload to", dst, err)
		}
		if fi.Size() < o.Offset {
			return fmt.Errorf("host %s: resuming upload to %s at byte %d: the file there has only %d", c.host, dst, o.Offset, fi.Size())
		}
	}
	f, err := s.client.OpenFile(dst, flags)
	if err != nil {
		return c.fileError(s, ctx, "opening", dst, err)
	}
	if _, err := f.Seek(o.Offset, io.SeekStart); err != nil {
		f.Close()
		return c.fileError(s, ctx, "seeking in", dst, err)
	}
	n, err := f.ReadFromWithConcurrency(ctxReader{ctx, r}, 0)
	if err != nil {
		// ReadFrom leaves the offset at the end of what surely arrived.
		if safe, serr := f.Seek(0, io.SeekCurrent); serr == nil {
			f.Truncate(safe)
		}
		f.Close()
		if !errors.Is(err, errReader) {
			return c.fileError(s, ctx, "writing", dst, err)
		}
		return fmt.Errorf("host %s: upload to %s: %w", c.host, dst, err)
	}
	// A resumed file that was longer than the new content must not keep a
	// stale tail.
	if o.Offset > 0 {
		if err := f.Truncate(o.Offset + n); err != nil {
			f.Close()
			return c.fileError(s, ctx, "truncating", dst, err)
		}
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		f.Close()
		return c.fileError(s, ctx, "setting the mode of", dst, err)
	}
	if err := f.Close(); err != nil {
		return c.fileError(s, ctx, "closing", dst, err)
	}
	return nil
}

// Rename moves oldpath to newpath, replacing newpath atomically when it
// exists (OpenSSH's posix-rename; a server without it gets mv -f).
func (c *Client) Rename(ctx context.Context, oldpath, newpath string) error {
	s, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	stop := c.watch(ctx, s)
	err = s.client.PosixRename(oldpath, newpath)
	stop()
	var se *sftp.StatusError
	if errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxOpUnsupported {
		_, err = c.Run(ctx, "mv -f "+shell.Quote(oldpath)+" "+shell.Quote(newpath))
		return err
	}
	if err != nil {
		return c.fileError(s, ctx, "renaming", oldpath, err)
	}
	return nil
}

// Download copies the remote file src to w.
func (c *Client) Download(ctx context.Context, src string, w io.Writer) error {
	s, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	defer c.watch(ctx, s)()
	f, err := s.client.Open(src)
	if err != nil {
		return c.fileError(s, ctx, "opening", src, err)
	}
	defer f.Close()
	if _, err := f.WriteTo(ctxWriter{ctx, w}); err != nil {
		return c.fileError(s, ctx, "reading", src, err)
	}
	return nil
}

// Stat describes a remote file (following symlinks).
func (c *Client) Stat(ctx context.Context, p string) (FileInfo, error) {
	s, err := c.sftpClient(ctx)
	if err != nil {
		return FileInfo{}, err
	}
	defer c.watch(ctx, s)()
	fi, err := s.client.Stat(p)
	if err != nil {
		return FileInfo{}, c.fileError(s, ctx, "stat", p, err)
	}
	return FileInfo{Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime()}, nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// exitNotExist is the status the checksum script gives for a missing file.
const exitNotExist = 44

// Sha256 returns the hex SHA-256 of a remote file, computed on the host.
func (c *Client) Sha256(ctx context.Context, p string) (string, error) {
	q := shell.Quote(p)
	out, err := c.Run(ctx, fmt.Sprintf("[ -e %s ] || exit %d\nsha256sum < %s", q, exitNotExist, q))
	var re *RunError
	if errors.As(err, &re) && re.ExitCode == exitNotExist {
		return "", fmt.Errorf("host %s: sha256 of %s: %w", c.host, p, fs.ErrNotExist)
	}
	if err != nil {
		return "", err
	}
	sum, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !sha256Hex.MatchString(sum) {
		return "", fmt.Errorf("host %s: sha256 of %s: unexpected output %q", c.host, p, ShortCmd(string(out)))
	}
	return sum, nil
}

// errReader marks errors of the caller's reader, which are not the host's fault.
var errReader = errors.New("reading the source")

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, context.Cause(r.ctx)
	}
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errReader, err)
	}
	return n, err
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, context.Cause(w.ctx)
	}
	return w.w.Write(p)
}
