package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// This file is the fake's control loops, done at request time: what the
// controller manager, the bootstrap signer and the node lifecycle
// controller would have written by the time a client looks.

func goarch() string { return runtime.GOARCH }

// secretData decodes a Secret's data (base64) into strings.
func secretData(sec map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range mapAt(sec, "data") {
		if s, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				out[k] = string(b)
			}
		}
	}
	return out
}

// bootstrapToken is one usable token from its Secret.
type bootstrapToken struct {
	id, secret string
	groups     []string
	signing    bool
	auth       bool
	expires    time.Time
}

func tokenFromSecret(sec map[string]any) (bootstrapToken, bool) {
	d := secretData(sec)
	t := bootstrapToken{id: d["token-id"], secret: d["token-secret"], signing: d["usage-bootstrap-signing"] == "true", auth: d["usage-bootstrap-authentication"] == "true"}
	if t.id == "" || t.secret == "" {
		return t, false
	}
	if g := d["auth-extra-groups"]; g != "" {
		t.groups = strings.Split(g, ",")
	}
	if exp := d["expiration"]; exp != "" {
		ts, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			return t, false
		}
		t.expires = ts
	}
	return t, true
}

func (t bootstrapToken) expired(now time.Time) bool {
	return !t.expires.IsZero() && now.After(t.expires)
}

func (s *apiServer) tokenUser(tok string) (user, error) {
	m := tokenRE.FindStringSubmatch(tok)
	if m == nil {
		return user{}, errors.New("not a bootstrap token")
	}
	t, ok := tokenFromSecret(s.store.get(objKey("", "secrets", "kube-system", "bootstrap-token-"+m[1])))
	if !ok || !hmac.Equal([]byte(t.secret), []byte(m[2])) || !t.auth || t.expired(time.Now()) {
		return user{}, errors.New("invalid bootstrap token")
	}
	return user{name: "system:bootstrap:" + t.id, groups: append([]string{"system:bootstrappers"}, t.groups...), kind: bootstrapper}, nil
}

// authorize is the RBAC that kubeadm sets up, reduced to what matters:
// holders of a cluster certificate may do anything; bootstrap tokens may
// discover the cluster, read its kubeadm configuration and the encrypted
// certificates, look up nodes and ask for a kubelet certificate; anyone may
// read cluster-info.
func (s *apiServer) authorize(u user, req *request) bool {
	if u.kind == certified {
		return true
	}
	core := req.ri.group == ""
	get := req.verb == "get"
	if get && core && req.ri.plural == "configmaps" && req.namespace == "kube-public" && req.name == "cluster-info" {
		return true
	}
	if u.kind != bootstrapper {
		return false
	}
	switch {
	case get && core && req.ri.plural == "configmaps" && req.namespace == "kube-system" &&
		(req.name == "kubeadm-config" || req.name == "kubelet-config" || req.name == "kube-proxy"):
		return true
	case get && core && req.ri.plural == "secrets" && req.namespace == "kube-system" && req.name == "kubeadm-certs":
		return true
	case get && core && req.ri.plural == "nodes":
		return true
	case req.ri.plural == "certificatesigningrequests" && (req.verb == "create" || get):
		return true
	}
	return false
}

// admit completes an object being created, as admission and the
// controllers that act at once would.
func (s *apiServer) admit(req *request, obj map[string]any, u user) *apiError {
	switch {
	case req.ri.group == "" && req.ri.plural == "secrets":
		if sd := mapAt(obj, "stringData"); sd != nil {
			data := ensureMap(obj, "data")
			for k, v := range sd {
				if vs, ok := v.(string); ok {
					data[k] = base64.StdEncoding.EncodeToString([]byte(vs))
				}
			}
			delete(obj, "stringData")
		}
	case req.ri.plural == "certificatesigningrequests":
		return s.signCSR(req, obj, u)
	case req.ri.group == "" && req.ri.plural == "nodes":
		if str(obj, "spec", "podCIDR") == "" {
			if cidr := s.allocatePodCIDR(); cidr != "" {
				spec := ensureMap(obj, "spec")
				spec["podCIDR"] = cidr
				spec["podCIDRs"] = []any{cidr}
			}
		}
	}
	return nil
}

// signCSR approves and signs a kubelet client certificate request at once
// (the csrapproving and csrsigning controllers).
func (s *apiServer) signCSR(req *request, obj map[string]any, u user) *apiError {
	name := str(obj, "metadata", "name")
	reqB64 := str(obj, "spec", "request")
	der, err := base64.StdEncoding.DecodeString(reqB64)
	if err != nil {
		return invalid(req.ri, name, "spec.request", "", "not base64")
	}
	block, _ := pem.Decode(der)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return invalid(req.ri, name, "spec.request", "", "PEM block type must be CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err == nil {
		err = csr.CheckSignature()
	}
	if err != nil {
		return invalid(req.ri, name, "spec.request", "", err.Error())
	}
	if !strings.HasPrefix(csr.Subject.CommonName, "system:node:") || len(csr.Subject.Organization) != 1 || csr.Subject.Organization[0] != "system:nodes" {
		return invalid(req.ri, name, "spec.request", csr.Subject.CommonName, `kubelet client certificates must have CN "system:node:<name>" and O "system:nodes"`)
	}
	cert, err := s.ca.sign(certSpec{cn: csr.Subject.CommonName, orgs: csr.Subject.Organization, client: true}, csr.PublicKey)
	if err != nil {
		return &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	spec := ensureMap(obj, "spec")
	spec["username"] = u.name
	spec["groups"] = toAnySlice(u.groups)
	obj["status"] = map[string]any{
		"certificate": base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		"conditions": []any{map[string]any{
			"type": "Approved", "status": "True", "reason": "AutoApproved",
			"message":            "Auto approving kubelet client certificate after SubjectAccessReview.",
			"lastUpdateTime":     time.Now().UTC().Format(time.RFC3339),
			"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		}},
	}
	return nil
}

func toAnySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// afterWrite runs the controllers that react to a change: once the
// cluster's kubeadm-config exists, nodes registered before it get their
// pod CIDRs.
func (s *apiServer) afterWrite(req *request) {
	if req.ri.group != "" || req.ri.plural != "configmaps" || req.namespace != "kube-system" {
		return
	}
	for _, n := range s.store.list("", "nodes", "") {
		if str(n, "spec", "podCIDR") != "" {
			continue
		}
		cidr := s.allocatePodCIDR()
		if cidr == "" {
			return
		}
		name := str(n, "metadata", "name")
		_, _ = s.store.mutate(objKey("", "nodes", "", name), func(cur map[string]any) (map[string]any, error) {
			if cur == nil {
				return nil, errExists
			}
			spec := ensureMap(cur, "spec")
			spec["podCIDR"] = cidr
			spec["podCIDRs"] = []any{cidr}
			return cur, nil
		})
	}
}

// allocatePodCIDR gives a node the next free /24 (or the configured
// node-cidr-mask-size) of the cluster's podSubnet, as the node IPAM
// controller does when kubeadm was given a pod subnet.
func (s *apiServer) allocatePodCIDR() string {
	cm := s.store.get(objKey("", "configmaps", "kube-system", "kubeadm-config"))
	if cm == nil {
		return ""
	}
	var cc struct {
		Networking struct {
			PodSubnet string `json:"podSubnet"`
		} `json:"networking"`
		ControllerManager struct {
			ExtraArgs extraArgs `json:"extraArgs"`
		} `json:"controllerManager"`
	}
	if yaml.Unmarshal([]byte(str(cm, "data", "ClusterConfiguration")), &cc) != nil {
		return ""
	}
	first, _, _ := strings.Cut(cc.Networking.PodSubnet, ",")
	_, subnet, err := net.ParseCIDR(strings.TrimSpace(first))
	if err != nil || subnet.IP.To4() == nil {
		return ""
	}
	maskSize := 24
	if v := cc.ControllerManager.ExtraArgs.get("node-cidr-mask-size"); v != "" {
		fmt.Sscanf(v, "%d", &maskSize)
	}
	ones, _ := subnet.Mask.Size()
	if maskSize < ones || maskSize > 32 {
		return ""
	}
	used := map[string]bool{}
	for _, n := range s.store.list("", "nodes", "") {
		used[str(n, "spec", "podCIDR")] = true
	}
	base := ipToUint(subnet.IP.To4())
	step := uint32(1) << (32 - maskSize)
	for i := uint32(0); i < uint32(1)<<(maskSize-ones); i++ {
		c := fmt.Sprintf("%s/%d", uintToIP(base+i*step), maskSize)
		if !used[c] {
			return c
		}
	}
	return ""
}

func ipToUint(ip net.IP) uint32 {
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

func uintToIP(v uint32) net.IP {
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// view is an object as a client sees it, with what the controllers would
// have added.
func (s *apiServer) view(ri resourceInfo, obj map[string]any) map[string]any {
	switch {
	case ri.group == "" && ri.plural == "nodes":
		s.nodeLifecycle(obj, time.Now())
	case ri.group == "" && ri.plural == "configmaps" && str(obj, "metadata", "namespace") == "kube-public" && str(obj, "metadata", "name") == "cluster-info":
		s.signClusterInfo(obj)
	case ri.group == "apps" || ri.group == "batch" || (ri.group == "" && ri.plural == "pods"):
		s.workloadStatus(ri, obj)
	}
	return obj
}

// nodeLifecycle marks a node whose kubelet stopped posting status as
// Unknown and unreachable, as the node lifecycle controller does after the
// grace period.
func (s *apiServer) nodeLifecycle(node map[string]any, now time.Time) {
	conds := list(node, "status", "conditions")
	var hb time.Time
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Ready" {
			hb, _ = time.Parse(time.RFC3339, str(cm, "lastHeartbeatTime"))
		}
	}
	if len(conds) == 0 || now.Sub(hb) <= s.grace {
		return
	}
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["status"] != "Unknown" {
			cm["lastTransitionTime"] = hb.Add(s.grace).UTC().Format(time.RFC3339)
		}
		cm["status"] = "Unknown"
		cm["reason"] = "NodeStatusUnknown"
		cm["message"] = "Kubelet stopped posting node status."
	}
	spec := ensureMap(node, "spec")
	taints, _ := spec["taints"].([]any)
	for _, effect := range []string{"NoSchedule", "NoExecute"} {
		taints = append(taints, map[string]any{"key": "node.kubernetes.io/unreachable", "effect": effect})
	}
	spec["taints"] = taints
}

// signClusterInfo adds the JWS signatures of the bootstrap signer: one per
// valid signing token, over the kubeconfig in the ConfigMap.
func (s *apiServer) signClusterInfo(cm map[string]any) {
	kc := str(cm, "data", "kubeconfig")
	data := ensureMap(cm, "data")
	now := time.Now()
	for _, sec := range s.store.list("", "secrets", "kube-system") {
		if !strings.HasPrefix(str(sec, "metadata", "name"), "bootstrap-token-") {
			continue
		}
		t, ok := tokenFromSecret(sec)
		if !ok || !t.signing || t.expired(now) {
			continue
		}
		data["jws-kubeconfig-"+t.id] = detachedJWS(kc, t.id, t.secret)
	}
}

// detachedJWS is the bootstrap signer's signature: HS256 over the
// content, keyed with the token secret, payload left out.
func detachedJWS(content, tokenID, tokenSecret string) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"` + tokenID + `"}`))
	payload := enc.EncodeToString([]byte(content))
	mac := hmac.New(sha256.New, []byte(tokenSecret))
	mac.Write([]byte(header + "." + payload))
	return header + ".." + enc.EncodeToString(mac.Sum(nil))
}

// workloadStatus reports workloads as rolled out: the fake runs no
// containers, so everything is as its spec asks.
func (s *apiServer) workloadStatus(ri resourceInfo, obj map[string]any) {
	gen := toInt64(field(obj, "metadata", "generation"))
	replicas := int64(1)
	if r, ok := field(obj, "spec", "replicas").(float64); ok {
		replicas = int64(r)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	cond := func(typ, reason, msg string) map[string]any {
		return map[string]any{"type": typ, "status": "True", "reason": reason, "message": msg, "lastUpdateTime": now, "lastTransitionTime": now}
	}
	name := str(obj, "metadata", "name")
	switch ri.kind {
	case "Deployment":
		obj["status"] = map[string]any{
			"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
			"readyReplicas": replicas, "availableReplicas": replicas,
			"conditions": []any{
				cond("Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
				cond("Progressing", "NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", name)),
			},
		}
	case "StatefulSet", "ReplicaSet":
		obj["status"] = map[string]any{
			"observedGeneration": gen, "replicas": replicas, "readyReplicas": replicas,
			"currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
		}
	case "DaemonSet":
		n := int64(s.daemonSetNodes(obj))
		obj["status"] = map[string]any{
			"observedGeneration": gen, "desiredNumberScheduled": n, "currentNumberScheduled": n,
			"updatedNumberScheduled": n, "numberReady": n, "numberAvailable": n, "numberMisscheduled": 0,
		}
	case "Job":
		completions := int64(1)
		if c, ok := field(obj, "spec", "completions").(float64); ok {
			completions = int64(c)
		}
		obj["status"] = map[string]any{"succeeded": completions, "startTime": str(obj, "metadata", "creationTimestamp"), "completionTime": now,
			"conditions": []any{cond("Complete", "", "")}}
	case "Pod":
		obj["status"] = map[string]any{"phase": "Running", "conditions": []any{
			cond("PodScheduled", "", ""), cond("Initialized", "", ""), cond("ContainersReady", "", ""), cond("Ready", "", ""),
		}}
	}
}

// daemonSetNodes counts the nodes a DaemonSet's pods would run on: those
// its nodeSelector matches whose NoSchedule/NoExecute taints it tolerates.
func (s *apiServer) daemonSetNodes(ds map[string]any) int {
	sel := stringMap(mapAt(ds, "spec", "template", "spec", "nodeSelector"))
	tols := list(ds, "spec", "template", "spec", "tolerations")
	n := 0
	for _, node := range s.store.list("", "nodes", "") {
		labels := stringMap(mapAt(node, "metadata", "labels"))
		ok := true
		for k, v := range sel {
			if labels[k] != v {
				ok = false
			}
		}
		for _, t := range list(node, "spec", "taints") {
			tm, _ := t.(map[string]any)
			effect := str(tm, "effect")
			if effect != "PreferNoSchedule" && !tolerates(tols, tm) {
				ok = false
			}
		}
		if ok {
			n++
		}
	}
	return n
}

func tolerates(tols []any, taint map[string]any) bool {
	for _, t := range tols {
		tm, _ := t.(map[string]any)
		if e := str(tm, "effect"); e != "" && e != str(taint, "effect") {
			continue
		}
		key := str(tm, "key")
		switch str(tm, "operator") {
		case "Exists":
			if key == "" || key == str(taint, "key") {
				return true
			}
		default:
			if key == str(taint, "key") && str(tm, "value") == str(taint, "value") {
				return true
			}
		}
	}
	return false
}
