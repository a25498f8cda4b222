package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// manifestObject is one object read from -f, with where it came from.
type manifestObject struct {
	obj    map[string]any
	source string
}

type fileOptions struct {
	filenames []string
	recursive bool
}

func (fo *fileOptions) bind(cmd *cobra.Command, what string) {
	cmd.Flags().StringSliceVarP(&fo.filenames, "filename", "f", nil, "The files that contain the configurations to "+what+".")
	cmd.Flags().BoolVarP(&fo.recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
}

// readManifests reads every object of -f FILE|DIR|- in order; documents of
// kind List are expanded.
func (s *kubectlSession) readManifests(fo *fileOptions) ([]manifestObject, error) {
	if len(fo.filenames) == 0 {
		return nil, errors.New("must specify one of -f and -k")
	}
	var out []manifestObject
	for _, name := range fo.filenames {
		if strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") {
			return nil, fmt.Errorf("unable to read URL %q: the fake kubectl reads local files only", name)
		}
		var files []string
		if name == "-" {
			files = []string{"-"}
		} else {
			st, err := os.Stat(name)
			if err != nil {
				return nil, fmt.Errorf("the path %q does not exist", name)
			}
			if st.IsDir() {
				if files, err = manifestFiles(name, fo.recursive); err != nil {
					return nil, err
				}
			} else {
				files = []string{name}
			}
		}
		for _, f := range files {
			var data []byte
			var err error
			if f == "-" {
				data, err = io.ReadAll(s.p.stdin)
				f = "STDIN"
			} else {
				data, err = os.ReadFile(f)
			}
			if err != nil {
				return nil, err
			}
			objs, err := decodeManifests(data, f)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no objects passed to apply")
	}
	return out, nil
}

// manifestFiles lists the .yaml, .yml and .json files of a directory.
func manifestFiles(dir string, recursive bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func decodeManifests(data []byte, source string) ([]manifestObject, error) {
	var out []manifestObject
	for _, doc := range splitYAML(data) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("error parsing %s: %w", source, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(js, &obj); err != nil {
			if strings.TrimSpace(string(js)) == "null" {
				continue
			}
			return nil, fmt.Errorf("error parsing %s: %w", source, err)
		}
		if len(obj) == 0 {
			continue
		}
		var missing []string
		if str(obj, "apiVersion") == "" {
			missing = append(missing, "apiVersion not set")
		}
		if str(obj, "kind") == "" {
			missing = append(missing, "kind not set")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("error validating %q: error validating data: [%s]; if you choose to ignore these errors, turn validation off with --validate=false", source, strings.Join(missing, ", "))
		}
		if strings.HasSuffix(str(obj, "kind"), "List") && obj["items"] != nil {
			for _, it := range list(obj, "items") {
				if m, ok := it.(map[string]any); ok {
					out = append(out, manifestObject{obj: m, source: source})
				}
			}
			continue
		}
		out = append(out, manifestObject{obj: obj, source: source})
	}
	return out, nil
}

// placement resolves an object's resource and namespace; the error is
// kubectl's mapping error.
func (s *kubectlSession) placement(mo manifestObject, explicitNS bool) (resourceInfo, string, error) {
	obj := mo.obj
	name := str(obj, "metadata", "name")
	ri, err := s.resources.byKind(str(obj, "apiVersion"), str(obj, "kind"))
	if err != nil {
		return ri, "", fmt.Errorf("resource mapping not found for name: %q namespace: %q from %q: %v\nensure CRDs are installed first", name, str(obj, "metadata", "namespace"), mo.source, err)
	}
	if !ri.namespaced {
		return ri, "", nil
	}
	ns := str(obj, "metadata", "namespace")
	switch {
	case ns == "":
		ns = s.namespace()
	case explicitNS && ns != s.g.namespace:
		return ri, "", fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", ns, s.g.namespace, ns)
	}
	return ri, ns, nil
}

type applyOptions struct {
	fileOptions
	dryRun     string
	serverSide bool
	output     string
}

func (s *kubectlSession) newApplyCmd() *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply (-f FILENAME | -k DIRECTORY)",
		Short: "Apply a configuration to a resource by file name or stdin",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			switch o.dryRun {
			case "none", "client", "server":
			default:
				return fmt.Errorf(`Invalid dry-run value (%s). Must be "none", "server", or "client".`, o.dryRun)
			}
			return s.apply(o, false)
		},
	}
	o.bind(cmd, "apply")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", `Must be "none", "server", or "client".`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	cmd.Flags().BoolVar(&o.serverSide, "server-side", false, "If true, apply runs in the server instead of the client.")
	cmd.Flags().Bool("force-conflicts", false, "If true, server-side apply will force the changes against conflicts.")
	cmd.Flags().String("field-manager", "kubectl-client-side-apply", "Name of the manager used to track field ownership.")
	cmd.Flags().Bool("validate", true, "Validate the objects before sending them.")
	cmd.Flags().Bool("prune", false, "Automatically delete resource objects that do not appear in the configs.")
	cmd.Flags().Bool("wait", false, "If true, wait for resources to be gone before returning.")
	cmd.Flags().Bool("overwrite", true, "Automatically resolve conflicts between the modified and live configuration.")
	cmd.Flags().StringP("kustomize", "k", "", "Process a kustomization directory.")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name).")
	return cmd
}

func (s *kubectlSession) newCreateCmd() *cobra.Command {
	o := &applyOptions{dryRun: "none"}
	cmd := &cobra.Command{
		Use:   "create -f FILENAME",
		Short: "Create a resource from a file or from stdin",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return s.apply(o, true) },
	}
	o.bind(cmd, "create")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", `Must be "none", "server", or "client".`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name).")
	cmd.Flags().Bool("save-config", false, "If true, the configuration of current object will be saved in its annotation.")
	return cmd
}

// apply is client-side apply (or create): every mappable object is sent;
// objects that fail are reported and make the command fail, as kubectl
// does.
func (s *kubectlSession) apply(o *applyOptions, createOnly bool) error {
	objs, err := s.readManifests(&o.fileOptions)
	if err != nil {
		return err
	}
	if err := s.connect(); err != nil {
		return err
	}
	if _, err := s.resourceSet(false); err != nil {
		return err
	}
	var errs []error
	for _, mo := range objs {
		if err := s.applyOne(mo, o, createOnly); err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		msg := err.Error()
		var se *statusError
		var ce *connError
		if !errors.As(err, &se) && !errors.As(err, &ce) {
			msg = "error: " + msg
		}
		fmt.Fprintln(s.p.stderr, msg)
	}
	if len(errs) > 0 {
		return exitError{1}
	}
	return nil
}

func (s *kubectlSession) applyOne(mo manifestObject, o *applyOptions, createOnly bool) error {
	ri, ns, err := s.placement(mo, s.g.namespace != "")
	if err != nil {
		return err
	}
	obj := deepCopy(mo.obj)
	name := str(obj, "metadata", "name")
	if name == "" && !createOnly {
		return fmt.Errorf("error when retrieving current configuration of:\nResource: %q, GroupVersionKind: %q\nName: \"\", Namespace: %q\nfrom server for: %q: resource name may not be empty", ri.groupResource(), str(obj, "apiVersion")+", Kind="+ri.kind, ns, mo.source)
	}
	if ri.namespaced {
		ensureMap(obj, "metadata")["namespace"] = ns
	}
	suffix, query := "", ""
	switch o.dryRun {
	case "client":
		suffix = " (dry run)"
	case "server":
		suffix, query = " (server dry run)", "?dryRun=All"
	}
	report := func(verb string, result map[string]any) error {
		if result != nil && o.output != "" && o.output != "name" {
			return printObject(s.p.stdout, o.output, result)
		}
		if o.output == "name" {
			fmt.Fprintln(s.p.stdout, displayName(ri, name))
			return nil
		}
		fmt.Fprintf(s.p.stdout, "%s %s%s\n", displayName(ri, name), verb, suffix)
		return nil
	}
	wrap := func(verb string, err error) error {
		var se *statusError
		if errors.As(err, &se) {
			return &statusError{Code: se.Code, Reason: se.Reason, Message: fmt.Sprintf("error when %s %q: %s", verb, mo.source, se.Message)}
		}
		return err
	}
	if createOnly || o.serverSide {
		var live map[string]any
		if o.dryRun != "client" {
			if err := s.client.do(s.ctx(), "POST", ri.basePath(ns)+query, obj, &live); err != nil {
				if !o.serverSide || !isConflict(err) {
					return wrap("creating", err)
				}
				if err := s.client.do(s.ctx(), "PUT", objectPath(ri, ns, name)+query, obj, &live); err != nil {
					return wrap("applying", err)
				}
			}
			name = str(live, "metadata", "name")
		}
		if o.serverSide {
			return report("serverside-applied", live)
		}
		return report("created", live)
	}
	cfg, err := json.Marshal(mo.obj)
	if err != nil {
		return err
	}
	ann := ensureMap(obj, "metadata", "annotations")
	ann[lastAppliedAnnotation] = string(cfg) + "\n"
	var live map[string]any
	err = s.client.do(s.ctx(), "GET", objectPath(ri, ns, name), nil, &live)
	switch {
	case isNotFound(err):
		if o.dryRun != "client" {
			if err := s.client.do(s.ctx(), "POST", ri.basePath(ns)+query, obj, &live); err != nil {
				return wrap("creating", err)
			}
		}
		return report("created", live)
	case err != nil:
		return wrap("retrieving current configuration of", err)
	}
	var last map[string]any
	_ = json.Unmarshal([]byte(str(live, "metadata", "annotations", lastAppliedAnnotation)), &last)
	if jsonEqual(last, mo.obj) {
		return report("unchanged", live)
	}
	patch := threeWayPatch(last, obj)
	if o.dryRun != "client" {
		if err := s.client.doType(s.ctx(), "PATCH", objectPath(ri, ns, name)+query, "application/merge-patch+json", patch, &live); err != nil {
			return wrap("patching", err)
		}
	}
	return report("configured", live)
}

// threeWayPatch is a merge patch that sets what the new configuration
// says and deletes what the last applied one said and the new one drops,
// leaving fields that others set alone.
func threeWayPatch(last, next map[string]any) map[string]any {
	patch := map[string]any{}
	for k, v := range next {
		lm, lok := last[k].(map[string]any)
		nm, nok := v.(map[string]any)
		if lok && nok {
			patch[k] = threeWayPatch(lm, nm)
			continue
		}
		patch[k] = v
	}
	for k := range last {
		if _, ok := next[k]; !ok {
			patch[k] = nil
		}
	}
	return patch
}

type deleteOptions struct {
	fileOptions
	ignoreNotFound bool
	all            bool
	selector       string
}

func (s *kubectlSession) newDeleteCmd() *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
		Short: "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := s.connect(); err != nil {
				return err
			}
			if len(o.filenames) > 0 {
				if len(args) > 0 {
					return errors.New("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
				}
				return s.deleteFiles(o)
			}
			return s.deleteNames(args, o)
		},
	}
	o.bind(cmd, "delete")
	f := cmd.Flags()
	f.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat \"resource not found\" as a successful delete.")
	f.BoolVar(&o.all, "all", false, "Delete all resources, in the namespace of the specified resource types.")
	f.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on.")
	f.Bool("force", false, "If true, immediately remove resources from API and bypass graceful deletion.")
	f.Int("grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully.")
	f.Bool("wait", true, "If true, wait for resources to be gone before returning.")
	f.Duration("timeout", 0, "The length of time to wait before giving up on a delete.")
	f.Bool("now", false, "If true, resources are signaled for immediate shutdown.")
	return cmd
}

func (s *kubectlSession) deleteFiles(o *deleteOptions) error {
	objs, err := s.readManifests(&o.fileOptions)
	if err != nil {
		return err
	}
	if _, err := s.resourceSet(false); err != nil {
		return err
	}
	var errs []error
	for _, mo := range objs {
		ri, ns, err := s.placement(mo, s.g.namespace != "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name := str(mo.obj, "metadata", "name")
		err = s.client.do(s.ctx(), "DELETE", objectPath(ri, ns, name), nil, nil)
		switch {
		case err == nil:
			fmt.Fprintf(s.p.stdout, "%s %q deleted\n", ri.kindGroup(), name)
		case isNotFound(err) && o.ignoreNotFound:
		default:
			var se *statusError
			if errors.As(err, &se) {
				err = &statusError{Code: se.Code, Reason: se.Reason, Message: fmt.Sprintf("error when deleting %q: %s", mo.source, se.Message)}
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *kubectlSession) deleteNames(args []string, o *deleteOptions) error {
	ri, names, err := s.typeNames(args)
	if err != nil {
		return err
	}
	ns := ""
	if ri.namespaced {
		ns = s.namespace()
	}
	if len(names) == 0 {
		if !o.all && o.selector == "" {
			return errors.New("resource(s) were provided, but no name was specified")
		}
		path := ri.basePath(ns)
		if o.selector != "" {
			path += "?labelSelector=" + url.QueryEscape(o.selector)
		}
		var l struct{ Items []map[string]any }
		if err := s.client.do(s.ctx(), "GET", path, nil, &l); err != nil {
			return err
		}
		for _, it := range l.Items {
			names = append(names, str(it, "metadata", "name"))
		}
		if len(names) == 0 {
			fmt.Fprintln(s.p.stderr, "No resources found")
			return nil
		}
	}
	var errs []error
	for _, n := range names {
		err := s.client.do(s.ctx(), "DELETE", objectPath(ri, ns, n), nil, nil)
		switch {
		case err == nil:
			fmt.Fprintf(s.p.stdout, "%s %q deleted\n", ri.kindGroup(), n)
		case isNotFound(err) && o.ignoreNotFound:
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
