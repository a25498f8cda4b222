package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// spec is one image a kubeadm cluster pulls, and how its program runs there.
type spec struct {
	host, repo string // the official name is host/repo:tag
	tagKey     string // the versions key that holds the tag
	bin        string // the program's file name in -bin DIR
	dest       string // the program's path in the image
	entrypoint bool   // the pod gives only args, so the image names the program
	iptables   bool   // the program execs iptables
}

const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// specs follow kubeadm: its static pods and the kube-proxy DaemonSet give
// `command: [kube-apiserver, ...]`, so those need no entrypoint; its CoreDNS
// Deployment gives only `args: [-conf, ...]`; containerd runs pause as the
// sandbox image; kube-flannel.yml runs /opt/bin/flanneld.
var specs = []spec{
	{host: "registry.k8s.io", repo: "kube-apiserver", tagKey: "KUBE_VERSION", bin: "kube-apiserver", dest: "/usr/local/bin/kube-apiserver"},
	{host: "registry.k8s.io", repo: "kube-controller-manager", tagKey: "KUBE_VERSION", bin: "kube-controller-manager", dest: "/usr/local/bin/kube-controller-manager"},
	{host: "registry.k8s.io", repo: "kube-scheduler", tagKey: "KUBE_VERSION", bin: "kube-scheduler", dest: "/usr/local/bin/kube-scheduler"},
	{host: "registry.k8s.io", repo: "kube-proxy", tagKey: "KUBE_VERSION", bin: "kube-proxy", dest: "/usr/local/bin/kube-proxy", iptables: true},
	{host: "registry.k8s.io", repo: "etcd", tagKey: "ETCD_IMAGE_TAG", bin: "etcd", dest: "/usr/local/bin/etcd"},
	{host: "registry.k8s.io", repo: "coredns/coredns", tagKey: "COREDNS_VERSION", bin: "coredns", dest: "/coredns", entrypoint: true},
	{host: "registry.k8s.io", repo: "pause", tagKey: "PAUSE_VERSION", bin: "pause", dest: "/pause", entrypoint: true},
	{host: "ghcr.io", repo: "flannel-io/flannel", tagKey: "FLANNEL_VERSION", bin: "flannel", dest: "/opt/bin/flanneld", entrypoint: true, iptables: true},
}

// built is an image ready to serve.
type built struct {
	spec
	tag string
	img v1.Image
}

// name is the official name, which sealpack pulls through a mirror.
func (b built) name() string { return b.host + "/" + b.repo + ":" + b.tag }

// path is the name on our registry: the mirror replaces only the host.
func (b built) path() string { return b.repo + ":" + b.tag }

// buildAll builds every image from the programs in binDir, telling warn
// about programs that are not static.
func buildAll(binDir string, versions map[string]string, warn io.Writer) ([]built, error) {
	imgs := make([]built, len(specs))
	var errs []error
	for i, s := range specs {
		imgs[i] = built{spec: s, tag: versions[s.tagKey]}
		if imgs[i].tag == "" {
			errs = append(errs, fmt.Errorf("the versions file has no %s (the tag of %s/%s)", s.tagKey, s.host, s.repo))
		} else if _, err := name.NewTag(imgs[i].name(), name.StrictValidation); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s does not make an image name: %w", s.tagKey, imgs[i].tag, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Check every program first, so one run names every missing file.
	dynamic := make([]bool, len(specs))
	for i, b := range imgs {
		p := filepath.Join(binDir, b.bin)
		d, err := checkBinary(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s needs %s, %w", b.name(), p, err))
		}
		dynamic[i] = d
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	base, err := layer(tree{"/tmp": {kind: dirNode.kind, mode: 0o1777}, "/run": dirNode})
	if err != nil {
		return nil, fmt.Errorf("writing the base layer: %w", err)
	}
	var iptables v1.Layer // shared by kube-proxy and flannel: one blob
	for i := range imgs {
		b := &imgs[i]
		layers := []mutate.Addendum{addendum(base, "/tmp /run")}
		if b.spec.iptables {
			if iptables == nil {
				t, err := iptablesTree()
				if err != nil {
					return nil, fmt.Errorf("%s: %w", b.name(), err)
				}
				if iptables, err = layer(t); err != nil {
					return nil, fmt.Errorf("%s: writing the iptables layer: %w", b.name(), err)
				}
			}
			layers = append(layers, addendum(iptables, "iptables of the build machine"))
		}
		l, err := programLayer(binDir, b.spec, dynamic[i], warn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.name(), err)
		}
		layers = append(layers, addendum(l, b.bin+" as "+b.dest))
		if b.img, err = image(b.spec, layers); err != nil {
			return nil, fmt.Errorf("%s: %w", b.name(), err)
		}
	}
	return imgs, nil
}

// programLayer holds the program, and the libraries it loads if it is not
// static (the images have no libc of their own).
func programLayer(binDir string, s spec, dynamic bool, warn io.Writer) (v1.Layer, error) {
	t := tree{}
	src := filepath.Join(binDir, s.bin)
	if err := t.file(s.dest, src, 0o755); err != nil {
		return nil, err
	}
	if dynamic {
		fmt.Fprintf(warn, "kubeimages: %s is dynamically linked; copying its libraries from this machine\n", src)
		if err := t.withLibraries(); err != nil {
			return nil, err
		}
	}
	return layer(t)
}

func addendum(l v1.Layer, what string) mutate.Addendum {
	return mutate.Addendum{Layer: l, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "kubeimages: " + what}}
}

// image is a single linux/amd64 OCI image (not an index): kubeadm's images
// are multi-platform, but a build for one platform needs only its own.
func image(s spec, layers []mutate.Addendum) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, layers...)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Env = []string{pathEnv}
	if s.entrypoint {
		cfg.Config.Entrypoint = []string{s.dest}
	}
	return mutate.ConfigFile(img, cfg)
}
