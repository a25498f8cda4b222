// Package artifact publishes sealpack installers in OCI registries and gets
// them back byte for byte: `sealpack push`, `sealpack pull`, FROM of a
// registry reference, `sealpack inspect REF`. ARTIFACT.md has the layout.
package artifact

import (
	"fmt"
	"sort"

	"github.com/sealpack/sealpack/payload"
)

// Media types of the artifact (ARTIFACT.md).
const (
	ArtifactType   = "application/vnd.sealpack.installer.v1"
	ConfigType     = "application/vnd.sealpack.installer.config.v1+json"
	StubLayerType  = "application/vnd.sealpack.installer.stub.v1"
	DataLayerType  = "application/vnd.sealpack.installer.data.v1"
	IndexLayerType = "application/vnd.sealpack.installer.index.v1"
)

// Layer cutting: a run of chunks that belong to one blob alone is a layer
// (a file or an image layer, whatever the base or derived installer it is
// copied into); smaller runs are grouped, cut where a chunk's hash says so,
// so that the same run of chunks gives the same layers in every installer.
const (
	ownLayer  = 1 << 20 // a unit at least this big is a layer of its own
	groupMax  = 8 << 20 // a group of small units closes at this size
	cutChance = 8       // a group closes after 1 unit in cutChance (by hash)
)

// span is a range of the data area that one data layer holds.
type span struct{ off, size int64 }

// unit is a run of chunks that go together: the chunks one blob owns alone,
// or one chunk that several blobs share.
type unit struct {
	off, size int64
	key       string // hex sha256 of its first chunk: where groups are cut
}

// dataSpans cuts the data area of idx into layers (ARTIFACT.md, "Data
// layers"). The spans tile [0, DataSize) in order.
func dataSpans(idx *payload.Index) ([]span, error) {
	units, err := dataUnits(idx)
	if err != nil {
		return nil, err
	}
	var out []span
	var cur *span
	closeGroup := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for _, u := range units {
		if u.size >= ownLayer {
			closeGroup()
			out = append(out, span{u.off, u.size})
			continue
		}
		if cur == nil {
			cur = &span{off: u.off}
		}
		cur.size += u.size
		if cur.size >= groupMax || cutAfter(u.key) {
			closeGroup()
		}
	}
	closeGroup()
	return out, nil
}

// cutAfter reports whether a group of small units closes after the unit
// whose first chunk has hash key (hex): one in cutChance do.
func cutAfter(key string) bool {
	var b byte
	if len(key) >= 2 {
		fmt.Sscanf(key[:2], "%02x", &b)
	}
	return int(b)%cutChance == 0
}

// dataUnits lists the distinct chunks of idx in data order, joined into
// units. Bytes between chunks (there are none in what the Writer writes)
// belong to the chunk before them, so the units tile the data area.
func dataUnits(idx *payload.Index) ([]unit, error) {
	type chunkInfo struct {
		c      payload.Chunk
		owners int
		owner  string
	}
	byOff := map[int64]*chunkInfo{}
	for _, b := range idx.Blobs {
		for _, c := range b.Chunks {
			ci := byOff[c.Offset]
			if ci == nil {
				ci = &chunkInfo{c: c, owner: b.Digest}
				byOff[c.Offset] = ci
			}
			if ci.owner != b.Digest || ci.owners == 0 {
				ci.owners++
			}
		}
	}
	offs := make([]int64, 0, len(byOff))
	for o := range byOff {
		offs = append(offs, o)
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	if idx.DataSize > 0 && (len(offs) == 0 || offs[0] != 0) {
		return nil, fmt.Errorf("payload index: the data area does not start with a chunk")
	}
	var units []unit
	lastOwner := ""
	for i, o := range offs {
		end := idx.DataSize
		if i+1 < len(offs) {
			end = offs[i+1]
		}
		ci := byOff[o]
		if end < o+ci.c.Stored || end > idx.DataSize {
			return nil, fmt.Errorf("payload index: chunk at data offset %d overlaps the next", o)
		}
		sole := ""
		if ci.owners == 1 {
			sole = ci.owner
		}
		if sole != "" && sole == lastOwner {
			units[len(units)-1].size += end - o
			continue
		}
		units = append(units, unit{off: o, size: end - o, key: ci.c.SHA256})
		lastOwner = sole
	}
	return units, nil
}
