package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

func (s *kubectlSession) getNode(name string) (map[string]any, error) {
	var node map[string]any
	err := s.client.do(s.ctx(), "GET", "/api/v1/nodes/"+name, nil, &node)
	return node, err
}

func (s *kubectlSession) patchNode(name string, patch map[string]any) error {
	return s.client.doType(s.ctx(), "PATCH", "/api/v1/nodes/"+name, "application/strategic-merge-patch+json", patch, nil)
}

// setUnschedulable cordons or uncordons and prints what kubectl prints.
func (s *kubectlSession) setUnschedulable(name string, on bool) error {
	node, err := s.getNode(name)
	if err != nil {
		return err
	}
	cur, _ := field(node, "spec", "unschedulable").(bool)
	word := map[bool]string{true: "cordoned", false: "uncordoned"}[on]
	if cur == on {
		fmt.Fprintf(s.p.stdout, "node/%s already %s\n", name, word)
		return nil
	}
	var v any = true
	if !on {
		v = nil
	}
	if err := s.patchNode(name, map[string]any{"spec": map[string]any{"unschedulable": v}}); err != nil {
		return err
	}
	fmt.Fprintf(s.p.stdout, "node/%s %s\n", name, word)
	return nil
}

func (s *kubectlSession) newCordonCmd(on bool) *cobra.Command {
	use := map[bool]string{true: "cordon", false: "uncordon"}[on]
	return &cobra.Command{
		Use:   use + " NODE",
		Short: "Mark node as " + map[bool]string{true: "unschedulable", false: "schedulable"}[on],
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("USAGE: " + use + " NODE [flags]")
			}
			if err := s.connect(); err != nil {
				return err
			}
			return s.setUnschedulable(args[0], on)
		},
	}
}

// dsRunsOn tells whether a DaemonSet has a pod on a node.
func dsRunsOn(ds, node map[string]any) bool {
	labels := stringMap(mapAt(node, "metadata", "labels"))
	for k, v := range stringMap(mapAt(ds, "spec", "template", "spec", "nodeSelector")) {
		if labels[k] != v {
			return false
		}
	}
	tols := list(ds, "spec", "template", "spec", "tolerations")
	for _, t := range list(node, "spec", "taints") {
		tm, _ := t.(map[string]any)
		if str(tm, "effect") != "PreferNoSchedule" && !tolerates(tols, tm) {
			return false
		}
	}
	return true
}

// dsPodName is a stable made-up name of a DaemonSet's pod on a node.
func dsPodName(ds, node string) string {
	sum := sha256.Sum256([]byte(ds + "/" + node))
	const chars = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = chars[int(sum[i])%len(chars)]
	}
	return ds + "-" + string(b)
}

func (s *kubectlSession) newDrainCmd() *cobra.Command {
	var ignoreDS, deleteEmptyDir, force bool
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Drain node in preparation for maintenance",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("USAGE: drain NODE [flags]")
			}
			if err := s.connect(); err != nil {
				return err
			}
			name := args[0]
			if err := s.setUnschedulable(name, true); err != nil {
				return err
			}
			node, err := s.getNode(name)
			if err != nil {
				return err
			}
			// The pods of the fake are those of DaemonSets (kube-proxy at
			// least); other workloads have none to evict.
			var l struct{ Items []map[string]any }
			if err := s.client.do(s.ctx(), "GET", "/apis/apps/v1/daemonsets", nil, &l); err != nil {
				return err
			}
			var dsPods []string
			for _, ds := range l.Items {
				if dsRunsOn(ds, node) {
					dsPods = append(dsPods, str(ds, "metadata", "namespace")+"/"+dsPodName(str(ds, "metadata", "name"), name))
				}
			}
			sort.Strings(dsPods)
			if len(dsPods) > 0 {
				if !ignoreDS {
					msg := "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " + strings.Join(dsPods, ", ")
					fmt.Fprintf(s.p.stderr, "error: unable to drain node %q due to error: %s, continuing command...\nThere are pending nodes to be drained:\n %s\n%s\n", name, msg, name, msg)
					return exitError{1}
				}
				fmt.Fprintf(s.p.stderr, "Warning: ignoring DaemonSet-managed Pods: %s\n", strings.Join(dsPods, ", "))
			}
			fmt.Fprintf(s.p.stdout, "node/%s drained\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&ignoreDS, "ignore-daemonsets", false, "Ignore DaemonSet-managed pods.")
	f.BoolVar(&deleteEmptyDir, "delete-emptydir-data", false, "Continue even if there are pods using emptyDir.")
	f.BoolVar(&deleteEmptyDir, "delete-local-data", false, "Continue even if there are pods using emptyDir (deprecated).")
	f.BoolVar(&force, "force", false, "Continue even if there are pods that do not declare a controller.")
	f.Int("grace-period", -1, "Period of time in seconds given to each pod to terminate gracefully.")
	f.Duration("timeout", 0, "The length of time to wait before giving up, zero means infinite")
	f.Bool("disable-eviction", false, "Force drain to use delete, even if eviction is supported.")
	f.StringP("selector", "l", "", "Selector (label query) to filter on")
	f.String("pod-selector", "", "Label selector to filter pods on the node")
	f.Int("skip-wait-for-delete-timeout", 0, "Skip waiting for pods deleted longer ago than this many seconds.")
	f.String("dry-run", "none", `Must be "none", "server", or "client".`)
	return cmd
}

// newLabelCmd is `kubectl label` and `kubectl annotate`.
func (s *kubectlSession) newLabelCmd(verb string) *cobra.Command {
	var overwrite bool
	field := map[string]string{"label": "labels", "annotate": "annotations"}[verb]
	done := map[string]string{"label": "labeled", "annotate": "annotated"}[verb]
	undone := map[string]string{"label": "unlabeled", "annotate": "annotated"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " (TYPE NAME | TYPE/NAME) KEY_1=VAL_1 ... KEY_N=VAL_N",
		Short: "Update the " + field + " on a resource",
		RunE: func(_ *cobra.Command, args []string) error {
			var objArgs, changes []string
			for _, a := range args {
				if strings.Contains(a, "=") || strings.HasSuffix(a, "-") {
					changes = append(changes, a)
				} else {
					objArgs = append(objArgs, a)
				}
			}
			if len(changes) == 0 {
				return fmt.Errorf("at least one %s update is required", strings.TrimSuffix(field, "s"))
			}
			if err := s.connect(); err != nil {
				return err
			}
			ri, names, err := s.typeNames(objArgs)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				return errors.New("resource(s) were provided, but no name was specified")
			}
			ns := ""
			if ri.namespaced {
				ns = s.namespace()
			}
			for _, n := range names {
				var obj map[string]any
				if err := s.client.do(s.ctx(), "GET", objectPath(ri, ns, n), nil, &obj); err != nil {
					return err
				}
				cur := stringMap(mapAt(obj, "metadata", field))
				patch := map[string]any{}
				added, removed := false, false
				for _, c := range changes {
					if k, ok := strings.CutSuffix(c, "-"); ok && !strings.Contains(c, "=") {
						if _, has := cur[k]; has {
							patch[k] = nil
							removed = true
						}
						continue
					}
					k, v, _ := strings.Cut(c, "=")
					if old, has := cur[k]; has && old != v && !overwrite {
						return fmt.Errorf("'%s' already has a value (%s), and --overwrite is false", k, old)
					}
					if cur[k] != v || !hasKey(cur, k) {
						patch[k] = v
						added = true
					}
				}
				word := "not " + done
				switch {
				case added:
					word = done
				case removed:
					word = undone
				}
				if len(patch) > 0 {
					p := map[string]any{"metadata": map[string]any{field: patch}}
					if err := s.client.doType(s.ctx(), "PATCH", objectPath(ri, ns, n), "application/merge-patch+json", p, nil); err != nil {
						return err
					}
				}
				fmt.Fprintf(s.p.stdout, "%s %s\n", displayName(ri, n), word)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "If true, allow "+field+" to be overwritten, otherwise reject updates that overwrite existing "+field+".")
	cmd.Flags().Bool("all", false, "Select all resources, in the namespace of the specified resource types")
	return cmd
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

type taintSpec struct {
	key, value, effect string
	remove             bool
}

// parseTaint reads key=value:Effect, key:Effect, key:Effect- or key-.
func parseTaint(s string) (taintSpec, error) {
	t := taintSpec{}
	if strings.HasSuffix(s, "-") {
		t.remove = true
		s = strings.TrimSuffix(s, "-")
	}
	kv, effect, hasEffect := strings.Cut(s, ":")
	t.key, t.value, _ = strings.Cut(kv, "=")
	t.effect = effect
	if t.key == "" {
		return t, fmt.Errorf("invalid taint spec: %s", s)
	}
	if !hasEffect && !t.remove {
		return t, fmt.Errorf("invalid taint spec: %s, unknown taint effect", s)
	}
	if hasEffect {
		switch effect {
		case "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			return t, fmt.Errorf("invalid taint effect: %s, unsupported taint effect", effect)
		}
	}
	return t, nil
}

func (s *kubectlSession) newTaintCmd() *cobra.Command {
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N",
		Short: "Update the taints on one or more nodes",
		RunE: func(_ *cobra.Command, args []string) error {
			var objArgs []string
			var specs []taintSpec
			for _, a := range args {
				if strings.Contains(a, ":") || strings.Contains(a, "=") || strings.HasSuffix(a, "-") {
					t, err := parseTaint(a)
					if err != nil {
						return err
					}
					specs = append(specs, t)
				} else {
					objArgs = append(objArgs, a)
				}
			}
			if len(specs) == 0 {
				return errors.New("at least one taint update is required")
			}
			if err := s.connect(); err != nil {
				return err
			}
			ri, names, err := s.typeNames(objArgs)
			if err != nil {
				return err
			}
			if ri.plural != "nodes" || ri.group != "" {
				return fmt.Errorf("taint is only applicable to nodes, not %s", ri.plural)
			}
			if len(names) == 0 {
				return errors.New("resource(s) were provided, but no name was specified")
			}
			for _, n := range names {
				node, err := s.getNode(n)
				if err != nil {
					return err
				}
				taints := list(node, "spec", "taints")
				added, removed := false, false
				for _, t := range specs {
					var next []any
					found := false
					for _, x := range taints {
						xm, _ := x.(map[string]any)
						same := str(xm, "key") == t.key && (t.effect == "" || str(xm, "effect") == t.effect)
						switch {
						case same && t.remove:
							found, removed = true, true
							continue
						case same && !overwrite:
							return fmt.Errorf("node %s already has %s taint(s) with same effect(s) and --overwrite is false", n, t.key)
						case same:
							found = true
							continue
						}
						next = append(next, x)
					}
					if t.remove && !found {
						spec := t.key
						if t.effect != "" {
							spec += ":" + t.effect
						}
						return fmt.Errorf("taint %q not found", spec)
					}
					if !t.remove {
						tm := map[string]any{"key": t.key, "effect": t.effect}
						if t.value != "" {
							tm["value"] = t.value
						}
						next = append(next, tm)
						added = true
					}
					taints = next
				}
				if err := s.patchNode(n, map[string]any{"spec": map[string]any{"taints": taints}}); err != nil {
					return err
				}
				word := "modified"
				switch {
				case added && !removed:
					word = "tainted"
				case removed && !added:
					word = "untainted"
				}
				fmt.Fprintf(s.p.stdout, "node/%s %s\n", n, word)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "If true, allow taints to be overwritten, otherwise reject taint updates that overwrite existing taints.")
	cmd.Flags().Bool("all", false, "Select all nodes in the cluster")
	return cmd
}
