package payload

import "sync"

// cacheBytes bounds the decoded chunks a Reader keeps.
const cacheBytes = 32 << 20

// chunkCache keeps the last few decoded chunks that blobs share, so that
// reading the small files of one shared chunk one after the other (the
// registry's manifests, the deployer's uploads) decodes it once, not once
// per file. A chunk that holds one blob alone is never cached: it is read
// once, and it would push the shared ones out.
type chunkCache struct {
	mu   sync.Mutex
	ents []cachedChunk // most recently used last
	size int64
}

type cachedChunk struct {
	key  Chunk // Logical zeroed: the same chunk whatever blob lists it
	data []byte
}

func cacheKey(c Chunk) Chunk { c.Logical = 0; return c }

func (cc *chunkCache) get(key Chunk) []byte {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for i, e := range cc.ents {
		if e.key == key {
			copy(cc.ents[i:], cc.ents[i+1:])
			cc.ents[len(cc.ents)-1] = e
			return e.data
		}
	}
	return nil
}

func (cc *chunkCache) add(key Chunk, data []byte) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, e := range cc.ents {
		if e.key == key {
			return // decoded meanwhile by another reader
		}
	}
	cc.ents = append(cc.ents, cachedChunk{key: key, data: data})
	cc.size += int64(len(data))
	for cc.size > cacheBytes && len(cc.ents) > 1 {
		cc.size -= int64(len(cc.ents[0].data))
		cc.ents = cc.ents[1:]
	}
}
