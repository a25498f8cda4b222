package payload

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// Version is the payload format version this package writes. It reads every
// version from 1 (which had no shared chunks) up to this one.
const Version = 2

// TrailerSize is the fixed size of the trailer at the very end of an installer.
const TrailerSize = 88

// PartHeaderSize is the fixed size of the header at the start of a split part.
const PartHeaderSize = 64

// Trailer flags. Readers ignore bits they do not know, so a reader from
// before signatures reads a signed installer as an unsigned one.
const (
	flagSplit  = 1 << 0 // the data area lives in split parts
	flagSigned = 1 << 1 // a signature block sits between index and trailer
)

var (
	trailerMagic    = [8]byte{'S', 'P', 'A', 'K', 'T', 'R', 'L', '1'}
	trailerEndMagic = [8]byte{'S', 'E', 'A', 'L', 'P', 'A', 'C', 'K'}
	partMagic       = [8]byte{'S', 'P', 'A', 'K', 'P', 'R', 'T', '1'}
)

// trailer locates the index. Layout (little endian):
//
//	0  magic "SPAKTRL1"      8
//	8  version uint32        4
//	12 flags uint32          4 (bit 0: data lives in split parts; bit 1: a
//	                            signature block sits between index and trailer)
//	16 stub size uint64      8 (= where the payload starts)
//	24 index offset uint64   8 (absolute, in this file)
//	32 index length uint64   8 (stored, zstd-compressed)
//	40 index sha256          32 (of the stored bytes)
//	72 crc32 of bytes 0..72  4
//	76 reserved              4
//	80 magic "SEALPACK"      8
type trailer struct {
	version     uint32
	split       bool
	signed      bool // a signature block fills the bytes between index and trailer
	stubSize    int64
	indexOffset int64
	indexLen    int64
	indexSHA    [32]byte
}

func (t *trailer) marshal() []byte {
	b := make([]byte, TrailerSize)
	copy(b[0:8], trailerMagic[:])
	binary.LittleEndian.PutUint32(b[8:], t.version)
	var flags uint32
	if t.split {
		flags |= flagSplit
	}
	if t.signed {
		flags |= flagSigned
	}
	binary.LittleEndian.PutUint32(b[12:], flags)
	binary.LittleEndian.PutUint64(b[16:], uint64(t.stubSize))
	binary.LittleEndian.PutUint64(b[24:], uint64(t.indexOffset))
	binary.LittleEndian.PutUint64(b[32:], uint64(t.indexLen))
	copy(b[40:72], t.indexSHA[:])
	binary.LittleEndian.PutUint32(b[72:], crc32.ChecksumIEEE(b[:72]))
	copy(b[80:88], trailerEndMagic[:])
	return b
}

// parseTrailer decodes the last TrailerSize bytes of a file of size fileSize.
func parseTrailer(b []byte, fileSize int64) (*trailer, error) {
	at := fileSize - TrailerSize
	if len(b) != TrailerSize || !bytes.Equal(b[80:88], trailerEndMagic[:]) || !bytes.Equal(b[0:8], trailerMagic[:]) {
		return nil, ErrFormat
	}
	if crc32.ChecksumIEEE(b[:72]) != binary.LittleEndian.Uint32(b[72:]) {
		return nil, &FormatError{Offset: at, Msg: "trailer checksum mismatch"}
	}
	flags := binary.LittleEndian.Uint32(b[12:])
	t := &trailer{
		version:     binary.LittleEndian.Uint32(b[8:]),
		split:       flags&flagSplit != 0,
		signed:      flags&flagSigned != 0,
		stubSize:    int64(binary.LittleEndian.Uint64(b[16:])),
		indexOffset: int64(binary.LittleEndian.Uint64(b[24:])),
		indexLen:    int64(binary.LittleEndian.Uint64(b[32:])),
	}
	copy(t.indexSHA[:], b[40:72])
	if t.version < 1 || t.version > Version {
		return nil, &FormatError{Offset: at, Msg: "unsupported format version"}
	}
	// Unsigned fields read as negative when huge; reject both.
	if t.stubSize < 0 || t.indexOffset < t.stubSize || t.indexLen <= 0 || t.indexOffset > at || t.indexLen > at-t.indexOffset {
		return nil, &FormatError{Offset: at, Msg: "trailer points outside the file"}
	}
	return t, nil
}

// partHeader starts every split part. Layout (little endian):
//
//	0  magic "SPAKPRT1"  8
//	8  part number       4 (1-based)
//	12 part count        4
//	16 set id            32 (the same in every part of one installer)
//	48 reserved          16
type partHeader struct {
	number, count uint32
	setID         [32]byte
}

func (h *partHeader) marshal() []byte {
	b := make([]byte, PartHeaderSize)
	copy(b, partMagic[:])
	binary.LittleEndian.PutUint32(b[8:], h.number)
	binary.LittleEndian.PutUint32(b[12:], h.count)
	copy(b[16:48], h.setID[:])
	return b
}

func parsePartHeader(b []byte) (*partHeader, bool) {
	if len(b) != PartHeaderSize || !bytes.Equal(b[:8], partMagic[:]) {
		return nil, false
	}
	h := &partHeader{
		number: binary.LittleEndian.Uint32(b[8:]),
		count:  binary.LittleEndian.Uint32(b[12:]),
	}
	copy(h.setID[:], b[16:48])
	return h, true
}
