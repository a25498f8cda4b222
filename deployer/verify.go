package deployer

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
)

// verify waits until every host is a Ready node, then gives nodes the labels
// and taints the Clusterfile asks for. kubeadm names nodes by hostname, so
// hosts are matched to nodes by their InternalIP address.
type verify struct{}

func (verify) Name() string { return event.Verify }

func (verify) Plan(r *run) []string {
	return []string{fmt.Sprintf("%s: wait until %d host(s) are Ready nodes, apply labels and taints, wait until every workload is rolled out", r.master0, len(r.targets))}
}

type nodeList struct {
	Items []nodeItem `json:"items"`
}

type nodeItem struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Taints []struct {
			Key    string `json:"key"`
			Value  string `json:"value"`
			Effect string `json:"effect"`
		} `json:"taints"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		NodeInfo struct {
			KubeletVersion string `json:"kubeletVersion"`
		} `json:"nodeInfo"`
	} `json:"status"`
}

// hasTaint reports whether the node carries a taint of key, value (any
// value for "*") and effect.
func (n nodeItem) hasTaint(key, value, effect string) bool {
	for _, x := range n.Spec.Taints {
		if x.Key == key && (value == "*" || x.Value == value) && x.Effect == effect {
			return true
		}
	}
	return false
}

// nodes maps InternalIP to node for every node (only the Ready ones with
// readyOnly).
func (r *run) nodes(ctx context.Context, readyOnly bool) (map[string]nodeItem, error) {
	out, err := r.conn(r.master0).Run(ctx, "KUBECONFIG="+adminConf+" kubectl get nodes -o json", nil, nil)
	if err != nil {
		return nil, err
	}
	var nl nodeList
	if err := json.Unmarshal([]byte(out), &nl); err != nil {
		return nil, fmt.Errorf("kubectl get nodes: %w", err)
	}
	nodes := map[string]nodeItem{}
	for _, n := range nl.Items {
		ok := false
		for _, c := range n.Status.Conditions {
			ok = ok || c.Type == "Ready" && c.Status == "True"
		}
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" && (ok || !readyOnly) {
				nodes[a.Address] = n
			}
		}
	}
	return nodes, nil
}

// nodeNames maps InternalIP to node name (see nodes).
func (r *run) nodeNames(ctx context.Context, readyOnly bool) (map[string]string, error) {
	nodes, err := r.nodes(ctx, readyOnly)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for ip, n := range nodes {
		names[ip] = n.Metadata.Name
	}
	return names, nil
}

func (verify) Run(ctx context.Context, r *run) error {
	deadline := time.Now().Add(r.opts.ReadyTimeout)
	var missing []string
	var ready map[string]nodeItem
	for {
		var err error
		ready, err = r.nodes(ctx, true)
		missing = missing[:0]
		for _, h := range r.hosts {
			if _, ok := ready[h.IP]; !ok {
				missing = append(missing, h.IP)
			}
		}
		if err == nil && len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("listing nodes on %s: %w", r.master0, err)
			}
			sort.Strings(missing)
			return fmt.Errorf("not Ready after %s: %s (see kubectl describe node on %s)", r.opts.ReadyTimeout, strings.Join(missing, ", "), r.master0)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	for _, h := range r.hosts {
		r.emit(event.Event{Type: event.HostDone, Phase: event.Verify, Host: h.IP, Message: "Ready as node " + ready[h.IP].Metadata.Name})
	}
	// Labels kubelet may not set itself are applied through the API, and
	// taints are brought in line (kubeadm sets them at registration, but a
	// node that joined earlier, or was edited since, may differ). Only what
	// differs is changed: kubectl refuses to remove a taint that is not there.
	var script []string
	for _, h := range r.hosts {
		n := ready[h.IP]
		name := n.Metadata.Name
		for k, v := range h.APILabels() {
			if got, ok := n.Metadata.Labels[k]; !ok || got != v {
				script = append(script, fmt.Sprintf("kubectl label node %s %s --overwrite", shell.Quote(name), shell.Quote(k+"="+v)))
			}
		}
		for _, t := range h.Taints {
			if t.Remove && n.hasTaint(t.Key, "*", t.Effect) || !t.Remove && !n.hasTaint(t.Key, t.Value, t.Effect) {
				script = append(script, fmt.Sprintf("kubectl taint node %s %s --overwrite", shell.Quote(name), shell.Quote(t.String())))
			}
		}
	}
	if len(script) > 0 {
		sort.Strings(script)
		if _, err := r.exec(ctx, event.Verify, r.master0, "set -e\nexport KUBECONFIG="+adminConf+"\n"+strings.Join(script, "\n"), nil); err != nil {
			return err
		}
	}
	return r.waitWorkloads(ctx)
}
