package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

type getOptions struct {
	output        string
	selector      string
	fieldSelector string
	allNamespaces bool
	noHeaders     bool
	showLabels    bool
	ignoreNF      bool
}

func (s *kubectlSession) newGetCmd() *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get [(-o|--output=)json|yaml|name|wide|jsonpath=...] (TYPE[.VERSION][.GROUP] [NAME ...] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
		Short: "Display one or many resources",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.")
			}
			if err := s.connect(); err != nil {
				return err
			}
			ri, names, err := s.typeNames(args)
			if err != nil {
				return err
			}
			return s.get(ri, names, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, wide, jsonpath=...)")
	f.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on")
	f.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	f.BoolVar(&o.noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers.")
	f.BoolVar(&o.showLabels, "show-labels", false, "When printing, show all labels as the last column.")
	f.BoolVar(&o.ignoreNF, "ignore-not-found", false, "If the requested object does not exist the command will return exit code 0.")
	f.BoolP("watch", "w", false, "After listing/getting the requested object, watch for changes.")
	return cmd
}

func (s *kubectlSession) get(ri resourceInfo, names []string, o *getOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	ns := s.namespace()
	if !ri.namespaced || o.allNamespaces {
		ns = ""
	}
	var items []map[string]any
	var errs []error
	if len(names) > 0 {
		for _, n := range names {
			var obj map[string]any
			err := s.client.do(s.ctx(), "GET", objectPath(ri, ns, n), nil, &obj)
			if err != nil {
				if !(o.ignoreNF && isNotFound(err)) {
					errs = append(errs, err)
				}
				continue
			}
			items = append(items, obj)
		}
	} else {
		q := url.Values{}
		if o.selector != "" {
			q.Set("labelSelector", o.selector)
		}
		if o.fieldSelector != "" {
			q.Set("fieldSelector", o.fieldSelector)
		}
		path := ri.basePath(ns)
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		var l struct{ Items []map[string]any }
		if err := s.client.do(s.ctx(), "GET", path, nil, &l); err != nil {
			return err
		}
		items = l.Items
		if len(items) == 0 && !strings.HasPrefix(o.output, "json") && o.output != "yaml" {
			switch {
			case !ri.namespaced || o.allNamespaces:
				fmt.Fprintln(s.p.stderr, "No resources found")
			default:
				fmt.Fprintf(s.p.stderr, "No resources found in %s namespace.\n", ns)
			}
			return nil
		}
	}
	for _, it := range items {
		if it["apiVersion"] == nil {
			it["apiVersion"] = ri.apiVersion()
		}
		if it["kind"] == nil {
			it["kind"] = ri.kind
		}
	}
	// One named object prints as itself; anything else as a List.
	var whole any = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}, "items": toAnyList(items)}
	if len(names) == 1 && len(items) == 1 {
		whole = items[0]
	}
	var perr error
	switch {
	case o.output == "json" || o.output == "yaml":
		if len(items) > 0 || len(names) == 0 {
			perr = printObject(s.p.stdout, o.output, whole)
		}
	case o.output == "name":
		for _, it := range items {
			fmt.Fprintln(s.p.stdout, displayName(ri, str(it, "metadata", "name")))
		}
	case strings.HasPrefix(o.output, "jsonpath="), strings.HasPrefix(o.output, "jsonpath-as-json="):
		if len(items) > 0 || len(names) == 0 {
			perr = printJSONPath(s.p.stdout, o.output, whole)
		}
	default:
		if len(items) > 0 {
			perr = printTable(s.p.stdout, ri, items, o)
		}
	}
	if perr != nil {
		return perr
	}
	return errors.Join(errs...)
}

func toAnyList(items []map[string]any) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func checkOutput(o string) error {
	switch {
	case o == "", o == "json", o == "yaml", o == "name", o == "wide",
		strings.HasPrefix(o, "jsonpath="), strings.HasPrefix(o, "jsonpath-as-json="):
		return nil
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,jsonpath,jsonpath-as-json,name,wide,yaml", o)
}

// printObject prints JSON (kubectl indents with four spaces) or YAML.
func printObject(w io.Writer, format string, v any) error {
	if format == "yaml" {
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func printJSONPath(w io.Writer, format string, v any) error {
	_, tmpl, _ := strings.Cut(format, "=")
	tmpl = strings.Trim(tmpl, "'")
	jp := jsonpath.New("out").AllowMissingKeys(true)
	if strings.HasPrefix(format, "jsonpath-as-json=") {
		jp.EnableJSONOutput(true)
	}
	if err := jp.Parse(tmpl); err != nil {
		return fmt.Errorf("error parsing jsonpath %s, %w", tmpl, err)
	}
	// The template walks JSON-decoded data.
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, data); err != nil {
		return fmt.Errorf("error executing jsonpath %q: %w", tmpl, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// humanDuration is kubectl's age format.
func humanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return fmt.Sprintf("%ds", seconds)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		if s := int(d/time.Second) % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", minutes, s)
		}
		return fmt.Sprintf("%dm", minutes)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	switch {
	case hours < 8:
		if m := int(d/time.Minute) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	case hours < 48:
		return fmt.Sprintf("%dh", hours)
	case hours < 24*8:
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", hours/24, h)
		}
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*2:
		return fmt.Sprintf("%dd", hours/24)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}

func age(obj map[string]any) string {
	t, err := time.Parse(time.RFC3339, str(obj, "metadata", "creationTimestamp"))
	if err != nil {
		return "<unknown>"
	}
	return humanDuration(time.Since(t))
}

// nodeStatus is the STATUS column of `kubectl get nodes`.
func nodeStatus(node map[string]any) string {
	st := "Unknown"
	switch nodeReady(node) {
	case "True":
		st = "Ready"
	case "False", "Unknown":
		st = "NotReady"
	}
	if u, _ := field(node, "spec", "unschedulable").(bool); u {
		st += ",SchedulingDisabled"
	}
	return st
}

func nodeRoles(node map[string]any) string {
	var roles []string
	for k := range mapAt(node, "metadata", "labels") {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		} else if k == "kubernetes.io/role" {
			roles = append(roles, str(node, "metadata", "labels", k))
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

func nodeAddress(node map[string]any, typ string) string {
	for _, a := range list(node, "status", "addresses") {
		am, _ := a.(map[string]any)
		if str(am, "type") == typ {
			return str(am, "address")
		}
	}
	return "<none>"
}

func labelString(obj map[string]any) string {
	labels := stringMap(mapAt(obj, "metadata", "labels"))
	if len(labels) == 0 {
		return "<none>"
	}
	var parts []string
	for _, k := range sortedKeys(labels) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

func num(obj map[string]any, path ...string) int64 { return toInt64(field(obj, path...)) }

// printTable prints kubectl's human-readable columns.
func printTable(w io.Writer, ri resourceInfo, items []map[string]any, o *getOptions) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	wide := o.output == "wide"
	var header []string
	row := func(obj map[string]any) []string { return []string{str(obj, "metadata", "name"), age(obj)} }
	header = []string{"NAME", "AGE"}
	switch {
	case ri.group == "" && ri.plural == "nodes":
		header = []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}
		if wide {
			header = append(header, "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME")
		}
		row = func(n map[string]any) []string {
			r := []string{str(n, "metadata", "name"), nodeStatus(n), nodeRoles(n), age(n), str(n, "status", "nodeInfo", "kubeletVersion")}
			if wide {
				r = append(r, nodeAddress(n, "InternalIP"), nodeAddress(n, "ExternalIP"), str(n, "status", "nodeInfo", "osImage"),
					str(n, "status", "nodeInfo", "kernelVersion"), str(n, "status", "nodeInfo", "containerRuntimeVersion"))
			}
			return r
		}
	case ri.group == "" && ri.plural == "namespaces":
		header = []string{"NAME", "STATUS", "AGE"}
		row = func(n map[string]any) []string {
			return []string{str(n, "metadata", "name"), firstNonEmpty(str(n, "status", "phase"), "Active"), age(n)}
		}
	case ri.group == "apps" && ri.plural == "deployments":
		header = []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}
		row = func(d map[string]any) []string {
			return []string{str(d, "metadata", "name"), fmt.Sprintf("%d/%d", num(d, "status", "readyReplicas"), num(d, "status", "replicas")),
				fmt.Sprint(num(d, "status", "updatedReplicas")), fmt.Sprint(num(d, "status", "availableReplicas")), age(d)}
		}
	case ri.group == "apps" && ri.plural == "daemonsets":
		header = []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"}
		row = func(d map[string]any) []string {
			sel := labelString(map[string]any{"metadata": map[string]any{"labels": mapAt(d, "spec", "template", "spec", "nodeSelector")}})
			return []string{str(d, "metadata", "name"), fmt.Sprint(num(d, "status", "desiredNumberScheduled")), fmt.Sprint(num(d, "status", "currentNumberScheduled")),
				fmt.Sprint(num(d, "status", "numberReady")), fmt.Sprint(num(d, "status", "updatedNumberScheduled")), fmt.Sprint(num(d, "status", "numberAvailable")), sel, age(d)}
		}
	}
	if o.allNamespaces && ri.namespaced {
		header = append([]string{"NAMESPACE"}, header...)
		inner := row
		row = func(obj map[string]any) []string {
			return append([]string{str(obj, "metadata", "namespace")}, inner(obj)...)
		}
	}
	if o.showLabels {
		header = append(header, "LABELS")
		inner := row
		row = func(obj map[string]any) []string { return append(inner(obj), labelString(obj)) }
	}
	if !o.noHeaders {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, it := range items {
		fmt.Fprintln(tw, strings.Join(row(it), "\t"))
	}
	return tw.Flush()
}
