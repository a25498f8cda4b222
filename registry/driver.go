package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// driverName is the name the payload driver is registered under.
const driverName = "sealpack-payload"

// storageRoot is where distribution keeps everything (its paths.go).
const storageRoot = "/docker/registry/v2"

// ErrReadOnly is returned by every write of the payload driver: the images
// are served from the installer file, which is never modified.
var ErrReadOnly = errors.New("registry: read-only: images are served from the installer and cannot be changed")

// node is one path of the driver's tree: a directory, a link file (the
// digest it holds) or a blob's data file (its digest and size).
type node struct {
	children []string // sorted child names, for directories
	dir      bool
	link     string
	blob     string
	size     int64
}

// payloadDriver is a read-only storagedriver.StorageDriver over a Store.
// The tree of links that distribution expects is built once from the
// catalog; blob data is read from the store on demand.
type payloadDriver struct {
	s     Store
	nodes map[string]*node
}

var _ storagedriver.StorageDriver = (*payloadDriver)(nil)

func newPayloadDriver(c *catalog) *payloadDriver {
	d := &payloadDriver{s: c.s, nodes: map[string]*node{"/": {dir: true}}}
	for _, repo := range c.repos {
		base := storageRoot + "/repositories/" + repo.name
		for tag, dg := range repo.tags {
			d.addLink(base+"/_manifests/tags/"+tag+"/current/link", dg)
			d.addLink(base+"/_manifests/tags/"+tag+"/index/"+digestPath(dg)+"/link", dg)
		}
		for dg := range repo.manifests {
			d.addLink(base+"/_manifests/revisions/"+digestPath(dg)+"/link", dg)
		}
		for dg := range repo.blobs {
			d.addLink(base+"/_layers/"+digestPath(dg)+"/link", dg)
			if size, ok := c.s.Stat(dg); ok {
				d.add(blobDataPath(dg), &node{blob: dg, size: size})
			}
		}
	}
	return d
}

// digestPath is "sha256/<hex>", as distribution lays out digests.
func digestPath(dg string) string { return strings.Replace(dg, ":", "/", 1) }

// blobDataPath is where distribution reads a blob's bytes.
func blobDataPath(dg string) string {
	alg, hex, _ := strings.Cut(dg, ":")
	return storageRoot + "/blobs/" + alg + "/" + hex[:2] + "/" + hex + "/data"
}

func (d *payloadDriver) addLink(p, dg string) { d.add(p, &node{link: dg}) }

func (d *payloadDriver) add(p string, n *node) {
	if _, ok := d.nodes[p]; ok {
		return
	}
	d.nodes[p] = n
	for {
		parent, name := path.Split(p)
		parent = path.Clean(parent)
		pn, ok := d.nodes[parent]
		if !ok {
			pn = &node{dir: true}
			d.nodes[parent] = pn
		}
		if i, found := slices.BinarySearch(pn.children, name); !found {
			pn.children = slices.Insert(pn.children, i, name)
		}
		if ok || parent == "/" {
			return
		}
		p = parent
	}
}

func (d *payloadDriver) lookup(p string) (*node, error) {
	n, ok := d.nodes[p]
	if !ok {
		return nil, storagedriver.PathNotFoundError{Path: p, DriverName: driverName}
	}
	return n, nil
}

func (d *payloadDriver) Name() string { return driverName }

func (d *payloadDriver) GetContent(ctx context.Context, p string) ([]byte, error) {
	rc, err := d.Reader(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Reader serves a blob straight out of the store.
func (d *payloadDriver) Reader(_ context.Context, p string, offset int64) (io.ReadCloser, error) {
	n, err := d.lookup(p)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, storagedriver.Error{DriverName: driverName, Detail: errors.New(p + " is a directory")}
	}
	size := int64(len(n.link))
	if n.blob != "" {
		size = n.size
	}
	if offset < 0 || offset > size {
		return nil, storagedriver.InvalidOffsetError{Path: p, Offset: offset, DriverName: driverName}
	}
	if n.blob == "" {
		return io.NopCloser(strings.NewReader(n.link[offset:])), nil
	}
	rc, err := d.s.Open(n.blob, offset)
	if err != nil {
		return nil, storagedriver.Error{DriverName: driverName, Detail: err}
	}
	return rc, nil
}

func (d *payloadDriver) Stat(_ context.Context, p string) (storagedriver.FileInfo, error) {
	n, err := d.lookup(p)
	if err != nil {
		return nil, err
	}
	fi := storagedriver.FileInfoFields{Path: p, IsDir: n.dir, ModTime: time.Time{}} // the payload keeps no times
	switch {
	case n.blob != "":
		fi.Size = n.size
	case !n.dir:
		fi.Size = int64(len(n.link))
	}
	return storagedriver.FileInfoInternal{FileInfoFields: fi}, nil
}

func (d *payloadDriver) List(_ context.Context, p string) ([]string, error) {
	n, err := d.lookup(p)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, storagedriver.PathNotFoundError{Path: p, DriverName: driverName}
	}
	out := make([]string, len(n.children))
	for i, c := range n.children {
		out[i] = path.Join(p, c)
	}
	return out, nil
}

func (d *payloadDriver) Walk(ctx context.Context, p string, f storagedriver.WalkFn, opts ...func(*storagedriver.WalkOptions)) error {
	return storagedriver.WalkFallback(ctx, d, p, f, opts...)
}

func (d *payloadDriver) RedirectURL(*http.Request, string) (string, error) { return "", nil }

func (d *payloadDriver) PutContent(context.Context, string, []byte) error { return d.readOnly() }

func (d *payloadDriver) Writer(context.Context, string, bool) (storagedriver.FileWriter, error) {
	return nil, d.readOnly()
}

func (d *payloadDriver) Move(context.Context, string, string) error { return d.readOnly() }

func (d *payloadDriver) Delete(context.Context, string) error { return d.readOnly() }

func (d *payloadDriver) readOnly() error {
	return fmt.Errorf("%s: %w", driverName, ErrReadOnly)
}
