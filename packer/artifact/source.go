package artifact

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sealpack/sealpack/payload"
)

// Config is the artifact's config blob: what `inspect` shows, and where
// each layer's bytes go in the installer file and its parts.
type Config struct {
	Report    *payload.Report `json:"report"`
	Installer Installer       `json:"installer"`
}

// Installer is the byte layout of the installer that the layers rebuild.
type Installer struct {
	Digest   string `json:"digest"`   // payload.Reader.Digest: sha256 of the stored index
	Size     int64  `json:"size"`     // bytes of the installer file (parts aside)
	StubSize int64  `json:"stubSize"` // the first layer
	DataSize int64  `json:"dataSize"` // the data layers together
	Parts    []Part `json:"parts,omitempty"`
}

// Part is one split part: its header as it was, and the data bytes after it.
type Part struct {
	Suffix string `json:"suffix"`
	Size   int64  `json:"size"`
	Header []byte `json:"header"` // payload.PartHeaderSize bytes
}

// Platform is the installer's platform.
func (c *Config) Platform() string { return c.Report.Platform }

// source is an installer opened for pushing: its index and its bytes.
type source struct {
	path   string
	r      *payload.Reader
	file   *os.File
	data   io.ReaderAt // the data area, offset 0 first
	cfg    Config
	spans  []span
	closer []io.Closer
}

func openSource(path string) (*source, error) {
	r, err := payload.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a sealpack installer: %w", path, err)
	}
	s := &source{path: path, r: r, closer: []io.Closer{r}}
	if err := s.open(); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *source) open() error {
	idx := s.r.Index()
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	s.file = f
	s.closer = append(s.closer, f)
	s.cfg = Config{Report: s.r.Report(), Installer: Installer{
		Digest: s.r.Digest(), Size: s.r.Size(), StubSize: idx.StubSize, DataSize: idx.DataSize}}
	if len(idx.Parts) == 0 {
		s.data = io.NewSectionReader(f, idx.StubSize, idx.DataSize)
	} else if s.data, err = s.openParts(idx.Parts); err != nil {
		return err
	}
	s.spans, err = dataSpans(idx)
	return err
}

// openParts reads the parts' headers (kept in the config) and joins their
// data; payload.Open has checked them already.
func (s *source) openParts(parts []payload.Part) (io.ReaderAt, error) {
	m := &joined{}
	for _, p := range parts {
		f, err := os.Open(s.path + p.Suffix)
		if err != nil {
			return nil, err
		}
		s.closer = append(s.closer, f)
		h := make([]byte, payload.PartHeaderSize)
		if _, err := f.ReadAt(h, 0); err != nil {
			return nil, fmt.Errorf("part %s: %w", p.Suffix, err)
		}
		s.cfg.Installer.Parts = append(s.cfg.Installer.Parts, Part{Suffix: p.Suffix, Size: p.Size, Header: h})
		m.add(io.NewSectionReader(f, payload.PartHeaderSize, p.Size))
	}
	return m, nil
}

// tail is the index and trailer (with whatever follows the data area):
// the last layer.
func (s *source) tail() *io.SectionReader {
	off := s.cfg.Installer.StubSize
	if len(s.cfg.Installer.Parts) == 0 {
		off += s.cfg.Installer.DataSize
	}
	return io.NewSectionReader(s.file, off, s.cfg.Installer.Size-off)
}

func (s *source) Close() error {
	for _, c := range s.closer {
		c.Close()
	}
	return nil
}

// joined is the data area of split parts, end to end.
type joined struct {
	parts []*io.SectionReader
	start []int64
	size  int64
}

func (j *joined) add(s *io.SectionReader) {
	j.parts, j.start = append(j.parts, s), append(j.start, j.size)
	j.size += s.Size()
}

func (j *joined) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for i, part := range j.parts {
		end := j.start[i] + part.Size()
		if len(p) == 0 || off >= end {
			continue
		}
		k, err := part.ReadAt(p[:min(int64(len(p)), end-off)], off-j.start[i])
		n, p, off = n+k, p[k:], off+int64(k)
		if err != nil && err != io.EOF {
			return n, err
		}
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// parseConfig reads a config blob and checks that its layout is whole.
func parseConfig(raw []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("artifact config: %w", err)
	}
	in := c.Installer
	if c.Report == nil || !strings.HasPrefix(in.Digest, "sha256:") || in.StubSize < 0 || in.DataSize < 0 || in.Size < in.StubSize {
		return nil, fmt.Errorf("artifact config: not a sealpack installer's (no report, digest or sizes)")
	}
	var parts int64
	for _, p := range in.Parts {
		if len(p.Header) != payload.PartHeaderSize || p.Size < 0 || strings.ContainsAny(p.Suffix, "/\\") || !strings.HasPrefix(p.Suffix, ".") {
			return nil, fmt.Errorf("artifact config: bad part %q", p.Suffix)
		}
		parts += p.Size
	}
	if len(in.Parts) > 0 && parts != in.DataSize {
		return nil, fmt.Errorf("artifact config: parts hold %d bytes, the data area %d", parts, in.DataSize)
	}
	return &c, nil
}
