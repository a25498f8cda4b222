package deployer

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
)

// verify waits until every host is a Ready node, then gives nodes the labels
// and taints the Clusterfile asks for. kubeadm names nodes by hostname, so
// hosts are matched to nodes by their InternalIP address.
type verify struct{}

func (verify) Name() string { return event.Verify }

func (verify) Plan(r *run) []string {
	return []string{fmt.Sprintf("%s: wait until %d host(s) are Ready nodes, apply labels and taints", r.master0, len(r.targets))}
}

type nodeList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Addresses []struct {
				Type    string `json:"type"`
				Address string `json:"address"`
			} `json:"addresses"`
			Conditions []struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	} `json:"items"`
}

// nodeNames maps InternalIP to node name for every node (only the Ready ones
// with readyOnly).
func (r *run) nodeNames(ctx context.Context, readyOnly bool) (map[string]string, error) {
	out, err := r.conn(r.master0).Run(ctx, "KUBECONFIG="+adminConf+" kubectl get nodes -o json", nil, nil)
	if err != nil {
		return nil, err
	}
	var nl nodeList
	if err := json.Unmarshal([]byte(out), &nl); err != nil {
		return nil, fmt.Errorf("kubectl get nodes: %w", err)
	}
	ready := map[string]string{}
	for _, n := range nl.Items {
		ok := false
		for _, c := range n.Status.Conditions {
			ok = ok || c.Type == "Ready" && c.Status == "True"
		}
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" && (ok || !readyOnly) {
				ready[a.Address] = n.Metadata.Name
			}
		}
	}
	return ready, nil
}

func (verify) Run(ctx context.Context, r *run) error {
	deadline := time.Now().Add(r.opts.ReadyTimeout)
	var missing []string
	var ready map[string]string
	for {
		var err error
		ready, err = r.nodeNames(ctx, true)
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
		r.emit(event.Event{Type: event.HostDone, Phase: event.Verify, Host: h.IP, Message: "Ready as node " + ready[h.IP]})
	}
	// Labels kubelet may not set itself, and taints, are applied through the API.
	var script []string
	for _, h := range r.hosts {
		node := ready[h.IP]
		for k, v := range h.APILabels() {
			script = append(script, fmt.Sprintf("kubectl label node %s %s --overwrite", shq(node), shq(k+"="+v)))
		}
		for _, t := range h.Taints {
			script = append(script, fmt.Sprintf("kubectl taint node %s %s --overwrite", shq(node), shq(t.String())))
		}
	}
	if len(script) == 0 {
		return nil
	}
	sort.Strings(script)
	_, err := r.exec(ctx, event.Verify, r.master0, "set -e\nexport KUBECONFIG="+adminConf+"\n"+strings.Join(script, "\n"), nil)
	return err
}
