package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// store is the apiserver's "etcd": every object, saved as one JSON file
// after each change so that a restarted apiserver finds its cluster again.
type store struct {
	mu   sync.Mutex
	path string
	data storeData
}

type storeData struct {
	ResourceVersion int64                     `json:"resourceVersion"`
	Objects         map[string]map[string]any `json:"objects"`
}

// objKey is the identity of a stored object, independent of API version.
func objKey(group, plural, ns, name string) string {
	return group + "/" + plural + "/" + ns + "/" + name
}

func openStore(path string) (*store, error) {
	s := &store{path: path, data: storeData{Objects: map[string]map[string]any{}}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			obj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}
			s.stamp(obj, nil)
			obj["status"] = map[string]any{"phase": "Active"}
			s.data.Objects[objKey("", "namespaces", "", ns)] = obj
		}
		return s, s.saveLocked()
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(b, &s.data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.data.Objects == nil {
		s.data.Objects = map[string]map[string]any{}
	}
	return s, nil
}

func (s *store) saveLocked() error {
	b, err := json.Marshal(s.data)
	if err != nil {
		return err
	}
	return writeFile(s.path, b, 0o600)
}

// stamp sets the server-owned metadata of a new or updated object; old is
// the stored version (nil on create).
func (s *store) stamp(obj, old map[string]any) {
	s.data.ResourceVersion++
	md := ensureMap(obj, "metadata")
	md["resourceVersion"] = strconv.FormatInt(s.data.ResourceVersion, 10)
	if old == nil {
		md["uid"] = newUID()
		md["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
		if _, ok := obj["spec"]; ok && obj["kind"] != "Node" && obj["kind"] != "Namespace" {
			md["generation"] = int64(1)
		}
		return
	}
	omd := mapAt(old, "metadata")
	md["uid"] = omd["uid"]
	md["creationTimestamp"] = omd["creationTimestamp"]
	if g, ok := omd["generation"]; ok {
		md["generation"] = g
		if !jsonEqual(obj["spec"], old["spec"]) {
			md["generation"] = toInt64(g) + 1
		}
	}
}

func newUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	}
	return 0
}

// deepCopy copies a JSON-shaped value.
func deepCopy(obj map[string]any) map[string]any {
	b, _ := json.Marshal(obj)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// get returns a copy of one object, or nil.
func (s *store) get(key string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.data.Objects[key]; o != nil {
		return deepCopy(o)
	}
	return nil
}

// list returns copies of the objects of one resource, in namespace ns (""
// for all), sorted by namespace and name.
func (s *store) list(group, plural, ns string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := group + "/" + plural + "/"
	if ns != "" {
		prefix += ns + "/"
	}
	var keys []string
	for k := range s.data.Objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, deepCopy(s.data.Objects[k]))
	}
	return out
}

// mutate runs fn on the stored object of key (nil when absent) under the
// lock; fn returns the new object (nil deletes) and the store saves it.
func (s *store) mutate(key string, fn func(cur map[string]any) (map[string]any, error)) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur map[string]any
	if o := s.data.Objects[key]; o != nil {
		cur = deepCopy(o)
	}
	next, err := fn(cur)
	if err != nil {
		return nil, err
	}
	if next == nil {
		delete(s.data.Objects, key)
	} else {
		s.stamp(next, s.data.Objects[key])
		s.data.Objects[key] = deepCopy(next)
	}
	if err := s.saveLocked(); err != nil {
		return nil, fmt.Errorf("saving the store: %w", err)
	}
	return next, nil
}

// deleteWhere removes every object whose key matches.
func (s *store) deleteWhere(match func(key string) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.data.Objects {
		if match(k) {
			delete(s.data.Objects, k)
		}
	}
	return s.saveLocked()
}

// resources is the builtin table plus the stored CRDs.
func (s *store) resources() resourceSet {
	rs := resourceSet(builtinResources())
	for _, crd := range s.list("apiextensions.k8s.io", "customresourcedefinitions", "") {
		if ri, ok := crdResource(crd); ok {
			rs = append(rs, ri)
		}
	}
	return rs
}
