package registry

import (
	"os"

	"golang.org/x/sys/unix"
)

// readAheadWindow bounds the readahead asked for at once: enough to keep a
// disk busy, not so much that a large layer evicts what it will send next.
const readAheadWindow = 64 << 20

// readAhead tells the kernel that bytes [off, off+n) of f will be read in
// order, so that a blob that is not in the page cache streams from the disk
// ahead of sendfile (which reads small pieces) rather than behind it.
func readAhead(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.Fadvise(int(fd), off, n, unix.FADV_SEQUENTIAL)
		_ = unix.Fadvise(int(fd), off, min(n, readAheadWindow), unix.FADV_WILLNEED)
	})
}
