package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// request is a parsed REST path.
type request struct {
	ri        resourceInfo
	version   string
	namespace string
	name      string
	sub       string // "status" or ""
	verb      string
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus answers with a Kubernetes Status object.
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	})
}

// parsePath splits /api/v1/... and /apis/GROUP/VERSION/... paths.
func (s *apiServer) parsePath(r *http.Request) (*request, bool) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var group, ver string
	switch {
	case segs[0] == "api" && len(segs) >= 3:
		ver, segs = segs[1], segs[2:]
	case segs[0] == "apis" && len(segs) >= 4:
		group, ver, segs = segs[1], segs[2], segs[3:]
	default:
		return nil, false
	}
	req := &request{version: ver}
	var plural string
	switch {
	case segs[0] == "namespaces" && len(segs) >= 3 && !(len(segs) == 3 && (segs[2] == "status" || segs[2] == "finalize")):
		req.namespace, plural, segs = segs[1], segs[2], segs[3:]
	default:
		plural, segs = segs[0], segs[1:]
	}
	if len(segs) > 0 {
		req.name, segs = segs[0], segs[1:]
	}
	if len(segs) > 0 {
		req.sub, segs = segs[0], segs[1:]
	}
	if len(segs) > 0 || (req.sub != "" && req.sub != "status") {
		return nil, false
	}
	ri, ok := s.store.resources().byGroupResource(group, ver, plural)
	if !ok {
		return nil, false
	}
	req.ri = ri
	if !ri.namespaced && req.namespace != "" {
		return nil, false
	}
	switch r.Method {
	case http.MethodGet:
		req.verb = "get"
		if req.name == "" {
			req.verb = "list"
		}
	case http.MethodPost:
		req.verb = "create"
	case http.MethodPut:
		req.verb = "update"
	case http.MethodPatch:
		req.verb = "patch"
	case http.MethodDelete:
		req.verb = "delete"
	default:
		return nil, false
	}
	return req, true
}

func (s *apiServer) rest(w http.ResponseWriter, r *http.Request, u user) {
	req, ok := s.parsePath(r)
	if !ok {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	if !s.authorize(u, req) {
		scope := "at the cluster scope"
		if req.namespace != "" {
			scope = fmt.Sprintf("in the namespace %q", req.namespace)
		}
		what := req.ri.groupResource()
		if req.name != "" {
			what += fmt.Sprintf(" %q", req.name)
		}
		writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("%s is forbidden: User %q cannot %s resource %q in API group %q %s",
			what, u.name, req.verb, req.ri.plural, req.ri.group, scope))
		return
	}
	var (
		code int
		out  any
		err  *apiError
	)
	switch req.verb {
	case "get":
		out, err = s.getObject(req)
		code = http.StatusOK
	case "list":
		out, err = s.listObjects(req, r.URL.Query().Get("labelSelector"), r.URL.Query().Get("fieldSelector"))
		code = http.StatusOK
	case "create", "update", "patch":
		body, rerr := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if rerr != nil {
			err = badRequest("reading the body: %v", rerr)
			break
		}
		dryRun := r.URL.Query().Get("dryRun") == "All"
		switch req.verb {
		case "create":
			out, err = s.createObject(req, body, u, dryRun)
			code = http.StatusCreated
		case "update":
			out, err = s.updateObject(req, body, dryRun)
			code = http.StatusOK
		case "patch":
			out, err = s.patchObject(req, body, r.Header.Get("Content-Type"), dryRun)
			code = http.StatusOK
		}
	case "delete":
		out, err = s.deleteObject(req)
		code = http.StatusOK
	}
	if err != nil {
		writeStatus(w, err.code, err.reason, err.msg)
		return
	}
	writeJSON(w, code, out)
}

// apiError is an error with its HTTP status and Status reason.
type apiError struct {
	code   int
	reason string
	msg    string
}

func notFound(ri resourceInfo, name string) *apiError {
	return &apiError{http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", ri.groupResource(), name)}
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...)}
}

func invalid(ri resourceInfo, name, fieldPath, value, detail string) *apiError {
	kind := ri.kind
	if ri.group != "" {
		kind += "." + ri.group
	}
	return &apiError{http.StatusUnprocessableEntity, "Invalid", fmt.Sprintf("%s %q is invalid: %s: Invalid value: %q: %s", kind, name, fieldPath, value, detail)}
}

func (s *apiServer) key(req *request, name string) string {
	return objKey(req.ri.group, req.ri.plural, req.namespace, name)
}

func (s *apiServer) getObject(req *request) (map[string]any, *apiError) {
	obj := s.store.get(s.key(req, req.name))
	if obj == nil {
		return nil, notFound(req.ri, req.name)
	}
	return s.view(req.ri, obj), nil
}

func (s *apiServer) listObjects(req *request, labelSel, fieldSel string) (map[string]any, *apiError) {
	lsel, err := parseSelector(labelSel)
	if err != nil {
		return nil, badRequest("unable to parse requirement: %v", err)
	}
	fsel, ferr := parseFieldSelector(fieldSel)
	if ferr != nil {
		return nil, badRequest("%v", ferr)
	}
	items := []any{}
	for _, obj := range s.store.list(req.ri.group, req.ri.plural, req.namespace) {
		if !lsel.matches(stringMap(mapAt(obj, "metadata", "labels"))) || !fsel.matches(obj) {
			continue
		}
		items = append(items, s.view(req.ri, obj))
	}
	apiVersion := req.version
	if req.ri.group != "" {
		apiVersion = req.ri.group + "/" + req.version
	}
	s.store.mu.Lock()
	rv := s.store.data.ResourceVersion
	s.store.mu.Unlock()
	return map[string]any{
		"apiVersion": apiVersion, "kind": req.ri.kind + "List",
		"metadata": map[string]any{"resourceVersion": fmt.Sprint(rv)}, "items": items,
	}, nil
}

// decodeObject reads a body and checks that it names what the path names.
func (s *apiServer) decodeObject(req *request, body []byte) (map[string]any, *apiError) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, badRequest("the body of the request was in an unknown format: %v", err)
	}
	group, _ := splitAPIVersion(str(obj, "apiVersion"))
	if k := str(obj, "kind"); k != "" && (k != req.ri.kind || group != req.ri.group) {
		return nil, badRequest("the API version in the data (%s) does not match the expected API version (%s)", str(obj, "apiVersion"), req.ri.apiVersion())
	}
	if obj["apiVersion"] == nil {
		obj["apiVersion"] = req.ri.apiVersion()
	}
	obj["kind"] = req.ri.kind
	md := ensureMap(obj, "metadata")
	if req.ri.namespaced {
		if ns, _ := md["namespace"].(string); ns != "" && ns != req.namespace {
			return nil, badRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		md["namespace"] = req.namespace
	}
	return obj, nil
}

var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func (s *apiServer) createObject(req *request, body []byte, u user, dryRun bool) (map[string]any, *apiError) {
	if req.name != "" || req.sub != "" {
		return nil, &apiError{http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource"}
	}
	obj, aerr := s.decodeObject(req, body)
	if aerr != nil {
		return nil, aerr
	}
	md := mapAt(obj, "metadata")
	name, _ := md["name"].(string)
	if name == "" {
		if gen, _ := md["generateName"].(string); gen != "" {
			name = gen + newUID()[:5]
			md["name"] = name
		}
	}
	if name == "" {
		return nil, invalid(req.ri, "", "metadata.name", "", "name or generateName is required")
	}
	if len(name) > 253 || !dns1123Subdomain.MatchString(name) {
		return nil, invalid(req.ri, name, "metadata.name", name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
	}
	if req.ri.namespaced {
		ns := s.store.get(objKey("", "namespaces", "", req.namespace))
		if ns == nil {
			return nil, &apiError{http.StatusNotFound, "NotFound", fmt.Sprintf("namespaces %q not found", req.namespace)}
		}
		if str(ns, "status", "phase") == "Terminating" {
			return nil, &apiError{http.StatusForbidden, "Forbidden", fmt.Sprintf("%s %q is forbidden: unable to create new content in namespace %s because it is being terminated", req.ri.groupResource(), name, req.namespace)}
		}
	}
	if aerr := s.admit(req, obj, u); aerr != nil {
		return nil, aerr
	}
	key := s.key(req, name)
	if dryRun {
		if s.store.get(key) != nil {
			return nil, alreadyExists(req.ri, name)
		}
		return obj, nil
	}
	var exists bool
	out, err := s.store.mutate(key, func(cur map[string]any) (map[string]any, error) {
		if cur != nil {
			exists = true
			return nil, errExists
		}
		return obj, nil
	})
	if exists {
		return nil, alreadyExists(req.ri, name)
	}
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	s.afterWrite(req)
	return s.view(req.ri, out), nil
}

var errExists = fmt.Errorf("exists")

func alreadyExists(ri resourceInfo, name string) *apiError {
	return &apiError{http.StatusConflict, "AlreadyExists", fmt.Sprintf("%s %q already exists", ri.groupResource(), name)}
}

func conflict(ri resourceInfo, name string) *apiError {
	return &apiError{http.StatusConflict, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", ri.groupResource(), name)}
}

// updateObject replaces an object (PUT). On the main resource the stored
// status is kept; on /status only the status changes.
func (s *apiServer) updateObject(req *request, body []byte, dryRun bool) (map[string]any, *apiError) {
	obj, aerr := s.decodeObject(req, body)
	if aerr != nil {
		return nil, aerr
	}
	if n := str(obj, "metadata", "name"); n != req.name {
		return nil, badRequest("the name of the object (%s) does not match the name on the URL (%s)", n, req.name)
	}
	return s.modify(req, dryRun, func(cur map[string]any) (map[string]any, *apiError) {
		if rv := str(obj, "metadata", "resourceVersion"); rv != "" && rv != str(cur, "metadata", "resourceVersion") {
			return nil, conflict(req.ri, req.name)
		}
		if req.sub == "status" {
			cur["status"] = obj["status"]
			return cur, nil
		}
		if st, ok := cur["status"]; ok {
			obj["status"] = st
		}
		return obj, nil
	})
}

func (s *apiServer) patchObject(req *request, body []byte, contentType string, dryRun bool) (map[string]any, *apiError) {
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(ct) {
	case "application/merge-patch+json", "application/strategic-merge-patch+json":
	default:
		return nil, &apiError{http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got %q)", contentType)}
	}
	var patch map[string]any
	if err := json.Unmarshal(body, &patch); err != nil {
		return nil, badRequest("error decoding patch: %v", err)
	}
	return s.modify(req, dryRun, func(cur map[string]any) (map[string]any, *apiError) {
		if req.sub == "status" {
			st, _ := mergePatch(cur["status"], patch["status"]).(map[string]any)
			cur["status"] = st
			return cur, nil
		}
		delete(patch, "status")
		next, _ := mergePatch(cur, patch).(map[string]any)
		return next, nil
	})
}

// modify runs a read-modify-write of the object the request names.
func (s *apiServer) modify(req *request, dryRun bool, fn func(cur map[string]any) (map[string]any, *apiError)) (map[string]any, *apiError) {
	var aerr *apiError
	key := s.key(req, req.name)
	if dryRun {
		cur := s.store.get(key)
		if cur == nil {
			return nil, notFound(req.ri, req.name)
		}
		next, aerr := fn(cur)
		if aerr != nil {
			return nil, aerr
		}
		return s.view(req.ri, next), nil
	}
	out, err := s.store.mutate(key, func(cur map[string]any) (map[string]any, error) {
		if cur == nil {
			aerr = notFound(req.ri, req.name)
			return nil, errExists
		}
		next, e := fn(cur)
		if e != nil {
			aerr = e
			return nil, errExists
		}
		return next, nil
	})
	if aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	s.afterWrite(req)
	return s.view(req.ri, out), nil
}

func (s *apiServer) deleteObject(req *request) (map[string]any, *apiError) {
	if req.name == "" {
		return nil, &apiError{http.StatusMethodNotAllowed, "MethodNotAllowed", "deletecollection is not supported by the fake apiserver"}
	}
	key := s.key(req, req.name)
	if req.ri.group == "" && req.ri.plural == "namespaces" {
		return s.terminateNamespace(req)
	}
	var missing bool
	old := s.store.get(key)
	_, err := s.store.mutate(key, func(cur map[string]any) (map[string]any, error) {
		if cur == nil {
			missing = true
			return nil, errExists
		}
		return nil, nil
	})
	if missing {
		return nil, notFound(req.ri, req.name)
	}
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	// Deleting a CRD takes its objects along.
	switch {
	case req.ri.group == "apiextensions.k8s.io":
		if ri, ok := crdResource(old); ok {
			err = s.store.deleteWhere(func(k string) bool { return strings.HasPrefix(k, ri.group+"/"+ri.plural+"/") })
		}
	}
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	return map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Success",
		"details": map[string]any{"name": req.name, "group": req.ri.group, "kind": req.ri.plural, "uid": str(old, "metadata", "uid")}}, nil
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm := map[string]any{}
	if t, ok := target.(map[string]any); ok {
		for k, v := range t {
			tm[k] = v
		}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// terminateNamespace is the namespace controller: the namespace turns
// Terminating at once (no new content), and it and its objects go shortly
// after, so that objects deleted right after their namespace still are.
func (s *apiServer) terminateNamespace(req *request) (map[string]any, *apiError) {
	out, aerr := s.modify(req, false, func(cur map[string]any) (map[string]any, *apiError) {
		if str(cur, "metadata", "deletionTimestamp") == "" {
			ensureMap(cur, "metadata")["deletionTimestamp"] = time.Now().UTC().Format(time.RFC3339)
		}
		ensureMap(cur, "status")["phase"] = "Terminating"
		return cur, nil
	})
	if aerr != nil {
		return nil, aerr
	}
	name := req.name
	time.AfterFunc(500*time.Millisecond, func() {
		_ = s.store.deleteWhere(func(k string) bool {
			parts := strings.SplitN(k, "/", 4)
			return (len(parts) == 4 && parts[2] == name) || k == objKey("", "namespaces", "", name)
		})
	})
	return out, nil
}
