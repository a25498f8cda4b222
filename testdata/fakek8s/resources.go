package main

import (
	"fmt"
	"strings"
)

// resourceInfo maps a kind to its REST resource, as API discovery does.
type resourceInfo struct {
	group      string
	versions   []string // served versions, preferred first
	kind       string
	plural     string
	namespaced bool
	short      []string
}

func (ri resourceInfo) singular() string { return strings.ToLower(ri.kind) }

// groupResource is "deployments.apps" (or "pods"), as in API errors.
func (ri resourceInfo) groupResource() string {
	if ri.group == "" {
		return ri.plural
	}
	return ri.plural + "." + ri.group
}

// kindGroup is "deployment.apps" (or "service"), as kubectl prints objects.
func (ri resourceInfo) kindGroup() string {
	if ri.group == "" {
		return ri.singular()
	}
	return ri.singular() + "." + ri.group
}

func (ri resourceInfo) apiVersion() string {
	if ri.group == "" {
		return ri.versions[0]
	}
	return ri.group + "/" + ri.versions[0]
}

// basePath is the REST path of the resource in namespace ns ("" for
// cluster-scoped resources or all namespaces).
func (ri resourceInfo) basePath(ns string) string {
	prefix := "/api/" + ri.versions[0]
	if ri.group != "" {
		prefix = "/apis/" + ri.group + "/" + ri.versions[0]
	}
	if ri.namespaced && ns != "" {
		return prefix + "/namespaces/" + ns + "/" + ri.plural
	}
	return prefix + "/" + ri.plural
}

func (ri resourceInfo) servesVersion(v string) bool {
	for _, x := range ri.versions {
		if x == v {
			return true
		}
	}
	return false
}

// builtinResources are the kinds a v1.30 apiserver serves.
func builtinResources() []resourceInfo {
	core := func(kind, plural string, namespaced bool, short ...string) resourceInfo {
		return resourceInfo{group: "", versions: []string{"v1"}, kind: kind, plural: plural, namespaced: namespaced, short: short}
	}
	g := func(group, kind, plural string, namespaced bool, short ...string) resourceInfo {
		return resourceInfo{group: group, versions: []string{"v1"}, kind: kind, plural: plural, namespaced: namespaced, short: short}
	}
	return []resourceInfo{
		core("Pod", "pods", true, "po"),
		core("Service", "services", true, "svc"),
		core("ConfigMap", "configmaps", true, "cm"),
		core("Secret", "secrets", true),
		core("Namespace", "namespaces", false, "ns"),
		core("Node", "nodes", false, "no"),
		core("ServiceAccount", "serviceaccounts", true, "sa"),
		core("PersistentVolume", "persistentvolumes", false, "pv"),
		core("PersistentVolumeClaim", "persistentvolumeclaims", true, "pvc"),
		core("Endpoints", "endpoints", true, "ep"),
		core("Event", "events", true, "ev"),
		core("LimitRange", "limitranges", true, "limits"),
		core("ResourceQuota", "resourcequotas", true, "quota"),
		core("ReplicationController", "replicationcontrollers", true, "rc"),
		g("apps", "Deployment", "deployments", true, "deploy"),
		g("apps", "StatefulSet", "statefulsets", true, "sts"),
		g("apps", "DaemonSet", "daemonsets", true, "ds"),
		g("apps", "ReplicaSet", "replicasets", true, "rs"),
		g("apps", "ControllerRevision", "controllerrevisions", true),
		g("batch", "Job", "jobs", true),
		g("batch", "CronJob", "cronjobs", true, "cj"),
		g("networking.k8s.io", "Ingress", "ingresses", true, "ing"),
		g("networking.k8s.io", "NetworkPolicy", "networkpolicies", true, "netpol"),
		g("networking.k8s.io", "IngressClass", "ingressclasses", false),
		g("rbac.authorization.k8s.io", "Role", "roles", true),
		g("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true),
		g("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false),
		g("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", false),
		g("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", false, "crd", "crds"),
		g("storage.k8s.io", "StorageClass", "storageclasses", false, "sc"),
		g("storage.k8s.io", "CSIDriver", "csidrivers", false),
		g("storage.k8s.io", "VolumeAttachment", "volumeattachments", false),
		g("policy", "PodDisruptionBudget", "poddisruptionbudgets", true, "pdb"),
		{group: "autoscaling", versions: []string{"v2", "v1"}, kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", namespaced: true, short: []string{"hpa"}},
		g("scheduling.k8s.io", "PriorityClass", "priorityclasses", false, "pc"),
		g("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false),
		g("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false),
		g("coordination.k8s.io", "Lease", "leases", true),
		g("certificates.k8s.io", "CertificateSigningRequest", "certificatesigningrequests", false, "csr"),
		g("apiregistration.k8s.io", "APIService", "apiservices", false),
		g("node.k8s.io", "RuntimeClass", "runtimeclasses", false),
		g("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
	}
}

// crdResource turns a stored CustomResourceDefinition into a resourceInfo.
func crdResource(crd map[string]any) (resourceInfo, bool) {
	group := str(crd, "spec", "group")
	kind := str(crd, "spec", "names", "kind")
	plural := str(crd, "spec", "names", "plural")
	if group == "" || kind == "" || plural == "" {
		return resourceInfo{}, false
	}
	ri := resourceInfo{group: group, kind: kind, plural: plural, namespaced: str(crd, "spec", "scope") != "Cluster"}
	for _, v := range list(crd, "spec", "versions") {
		vm, _ := v.(map[string]any)
		if served, _ := vm["served"].(bool); served || vm["served"] == nil {
			if name, _ := vm["name"].(string); name != "" {
				ri.versions = append(ri.versions, name)
			}
		}
	}
	for _, s := range list(crd, "spec", "names", "shortNames") {
		if s, ok := s.(string); ok {
			ri.short = append(ri.short, s)
		}
	}
	if sing := str(crd, "spec", "names", "singular"); sing != "" && sing != strings.ToLower(kind) {
		ri.short = append(ri.short, sing)
	}
	return ri, len(ri.versions) > 0
}

// resourceSet is the builtin table plus the cluster's CRDs.
type resourceSet []resourceInfo

// byKind finds the resource of apiVersion+kind; the error is kubectl's.
func (rs resourceSet) byKind(apiVersion, kind string) (resourceInfo, error) {
	group, ver := splitAPIVersion(apiVersion)
	for _, ri := range rs {
		if ri.group == group && ri.kind == kind && ri.servesVersion(ver) {
			return ri, nil
		}
	}
	return resourceInfo{}, fmt.Errorf("no matches for kind %q in version %q", kind, apiVersion)
}

// byName finds a resource by plural, singular, short name or kind, with an
// optional ".group" suffix ("deployments.apps").
func (rs resourceSet) byName(name string) (resourceInfo, bool) {
	n := strings.ToLower(name)
	base, group, hasGroup := strings.Cut(n, ".")
	for _, ri := range rs {
		if hasGroup && ri.group != group {
			continue
		}
		if base == ri.plural || base == ri.singular() || base == strings.ToLower(ri.kind) {
			return ri, true
		}
		for _, s := range ri.short {
			if base == s {
				return ri, true
			}
		}
	}
	return resourceInfo{}, false
}

// byGroupResource finds a resource by REST path parts.
func (rs resourceSet) byGroupResource(group, version, plural string) (resourceInfo, bool) {
	for _, ri := range rs {
		if ri.group == group && ri.plural == plural && ri.servesVersion(version) {
			return ri, true
		}
	}
	return resourceInfo{}, false
}

func splitAPIVersion(apiVersion string) (group, version string) {
	if g, v, ok := strings.Cut(apiVersion, "/"); ok {
		return g, v
	}
	return "", apiVersion
}

// Small accessors for unstructured objects.

func field(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func str(obj map[string]any, path ...string) string {
	s, _ := field(obj, path...).(string)
	return s
}

func list(obj map[string]any, path ...string) []any {
	l, _ := field(obj, path...).([]any)
	return l
}

func mapAt(obj map[string]any, path ...string) map[string]any {
	m, _ := field(obj, path...).(map[string]any)
	return m
}

// ensureMap returns obj[path...] as a map, creating it as needed.
func ensureMap(obj map[string]any, path ...string) map[string]any {
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	return cur
}

func stringMap(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
