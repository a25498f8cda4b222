package payload

import (
	"fmt"
	"io"
)

// The reading side of split parts: each is checked against the index, and
// together they make one data area.

func (r *Reader) openParts(open PartOpener) (io.ReaderAt, error) {
	set := r.index.setID()
	m := &multiReaderAt{}
	for i, p := range r.index.Parts {
		ra, size, c, err := open(p.Suffix)
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, c)
		hb := make([]byte, PartHeaderSize)
		if size >= PartHeaderSize {
			_, err = ra.ReadAt(hb, 0)
		}
		ph, ok := parsePartHeader(hb)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %s: %w", ErrPart, p.Suffix, err)
		case !ok || ph.setID != set:
			return nil, fmt.Errorf("%w: %s belongs to another installer", ErrPart, p.Suffix)
		case int(ph.number) != i+1:
			return nil, fmt.Errorf("%w: %s is part %d of %d, expected part %d (parts renamed or swapped?)", ErrPart, p.Suffix, ph.number, ph.count, i+1)
		case size != PartHeaderSize+p.Size:
			return nil, fmt.Errorf("%w: %s has %d bytes, expected %d (truncated or incomplete copy?)", ErrPart, p.Suffix, size, PartHeaderSize+p.Size)
		}
		m.add(io.NewSectionReader(ra, PartHeaderSize, p.Size))
	}
	return m, nil
}

// multiReaderAt joins split parts into one data area.
type multiReaderAt struct {
	parts []*io.SectionReader
	ends  []int64
}

func (m *multiReaderAt) add(s *io.SectionReader) {
	var end int64
	if len(m.ends) > 0 {
		end = m.ends[len(m.ends)-1]
	}
	m.parts = append(m.parts, s)
	m.ends = append(m.ends, end+s.Size())
}

func (m *multiReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for i, end := range m.ends {
		if len(p) == 0 {
			break
		}
		if off >= end {
			continue
		}
		start := end - m.parts[i].Size()
		k, err := m.parts[i].ReadAt(p[:min(int64(len(p)), end-off)], off-start)
		n += k
		p, off = p[k:], off+int64(k)
		if err != nil && err != io.EOF {
			return n, err
		}
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}
