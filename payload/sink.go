package payload

import (
	"fmt"
	"os"
)

// sink stores the data area: after the stub in the main file, or across split
// parts of a fixed data capacity each. Offsets are data offsets (0 = first
// byte after the stub). The Writer may rewind (to drop a duplicate entry), so
// writes are positional.
type sink struct {
	main     *os.File
	base     int64 // stub size: data offset 0 in the main file
	partData int64 // data bytes per part; 0 = no split
	parts    []*os.File
	size     int64 // high-water mark of written data
}

func (s *sink) partPath(i int) string { return fmt.Sprintf("%s%s", s.main.Name(), partSuffix(i)) }

func partSuffix(i int) string { return fmt.Sprintf(".%03d", i+1) }

func (s *sink) writeAt(p []byte, off int64) error {
	if end := off + int64(len(p)); end > s.size {
		s.size = end
	}
	if s.partData == 0 {
		_, err := s.main.WriteAt(p, s.base+off)
		return err
	}
	for len(p) > 0 {
		i := int(off / s.partData)
		in := off % s.partData
		for len(s.parts) <= i {
			f, err := os.OpenFile(s.partPath(len(s.parts)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return fmt.Errorf("creating split part: %w", err)
			}
			s.parts = append(s.parts, f)
		}
		n := int64(len(p))
		if n > s.partData-in {
			n = s.partData - in
		}
		if _, err := s.parts[i].WriteAt(p[:n], PartHeaderSize+in); err != nil {
			return err
		}
		p, off = p[n:], off+n
	}
	return nil
}

// finish truncates the data area to size (dropping a rewound tail), writes the
// part headers and returns the parts' descriptions.
func (s *sink) finish(size int64, setID [32]byte) ([]Part, error) {
	if s.partData == 0 {
		return nil, s.main.Truncate(s.base + size)
	}
	n := int((size + s.partData - 1) / s.partData)
	// Parts past the end (possible after a rewind) are removed.
	for len(s.parts) > n {
		last := s.parts[len(s.parts)-1]
		last.Close()
		os.Remove(last.Name())
		s.parts = s.parts[:len(s.parts)-1]
	}
	var parts []Part
	for i, f := range s.parts {
		dataLen := s.partData
		if i == n-1 {
			dataLen = size - int64(i)*s.partData
		}
		if err := f.Truncate(PartHeaderSize + dataLen); err != nil {
			return nil, err
		}
		h := partHeader{number: uint32(i + 1), count: uint32(n), setID: setID}
		if _, err := f.WriteAt(h.marshal(), 0); err != nil {
			return nil, err
		}
		parts = append(parts, Part{Suffix: partSuffix(i), Size: dataLen})
	}
	return parts, nil
}

func (s *sink) closeParts() error { return closeAll(s.parts) }

func (s *sink) removeParts() {
	for _, f := range s.parts {
		f.Close()
		os.Remove(f.Name())
	}
}
