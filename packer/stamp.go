package packer

import "io/fs"

// stamp identifies one state of a file in the work dir: when a RUN leaves it
// as it was written, the entry keeps its original source (a blob of the FROM
// installer is then copied as stored, not recompressed).
type stamp struct {
	size  int64
	mtime int64 // ns
	ctime int64 // ns; changes on any write or chmod, and RUN cannot set it
	ino   uint64
}

func stampOf(fi fs.FileInfo) *stamp {
	s := &stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	s.ctime, s.ino = sysStamp(fi)
	return s
}

func (s *stamp) same(o *stamp) bool {
	return s != nil && o != nil && *s == *o
}
