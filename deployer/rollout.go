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

// waitWorkloads waits, after the nodes are Ready, until every Deployment,
// DaemonSet and StatefulSet of the cluster is rolled out and every Job has
// completed: an install is a success when the applications run, and while
// the installer runs its registry can still serve the pulls they need. A
// pod that cannot pull or keeps crashing is named with its node, image and
// the kubelet's message.
func (r *run) waitWorkloads(ctx context.Context) error {
	deadline := time.Now().Add(r.opts.WaitTimeout)
	var last []string
	lastSaid := time.Time{}
	for {
		pending, err := r.pendingWorkloads(ctx)
		if err == nil && len(pending) == 0 {
			r.emit(event.Event{Type: event.HostDone, Phase: event.Verify, Host: r.master0, Message: "every workload rolled out"})
			return nil
		}
		if err != nil {
			pending = []string{err.Error()}
		}
		if strings.Join(pending, "\n") != strings.Join(last, "\n") || time.Since(lastSaid) > 30*time.Second {
			r.emit(event.Event{Type: event.Waiting, Phase: event.Verify, Host: r.master0, Message: strings.Join(pending, ", ")})
			last, lastSaid = pending, time.Now()
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("not rolled out after %s: %s", r.opts.WaitTimeout, strings.Join(pending, ", "))
			if probs := r.podProblems(ctx); len(probs) > 0 {
				msg += "\n  " + strings.Join(probs, "\n  ")
			}
			return fmt.Errorf("%s", msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// workload is what a rollout check needs of any of the four kinds.
type workload struct {
	Metadata struct {
		Namespace  string `json:"namespace"`
		Name       string `json:"name"`
		Generation int64  `json:"generation"`
	} `json:"metadata"`
	Spec struct {
		Replicas    *int64 `json:"replicas"`
		Completions *int64 `json:"completions"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration     int64 `json:"observedGeneration"`
		UpdatedReplicas        int64 `json:"updatedReplicas"`
		AvailableReplicas      int64 `json:"availableReplicas"`
		ReadyReplicas          int64 `json:"readyReplicas"`
		DesiredNumberScheduled int64 `json:"desiredNumberScheduled"`
		UpdatedNumberScheduled int64 `json:"updatedNumberScheduled"`
		NumberAvailable        int64 `json:"numberAvailable"`
		Succeeded              int64 `json:"succeeded"`
		Conditions             []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

// rolledOut tells whether w of kind is done, and else what it waits for.
func (w workload) rolledOut(kind string) (bool, string) {
	want := int64(1)
	if w.Spec.Replicas != nil {
		want = *w.Spec.Replicas
	}
	s := w.Status
	if kind != "job" && s.ObservedGeneration < w.Metadata.Generation {
		return false, "not yet seen by its controller"
	}
	switch kind {
	case "deployment":
		return s.UpdatedReplicas >= want && s.AvailableReplicas >= want, fmt.Sprintf("%d/%d available", s.AvailableReplicas, want)
	case "statefulset":
		return s.ReadyReplicas >= want && s.UpdatedReplicas >= want, fmt.Sprintf("%d/%d ready", s.ReadyReplicas, want)
	case "daemonset":
		d := s.DesiredNumberScheduled
		return s.UpdatedNumberScheduled >= d && s.NumberAvailable >= d, fmt.Sprintf("%d/%d available", s.NumberAvailable, d)
	case "job":
		for _, c := range s.Conditions {
			if c.Status == "True" && (c.Type == "Complete" || c.Type == "SuccessCriteriaMet") {
				return true, ""
			}
		}
		n := int64(1)
		if w.Spec.Completions != nil {
			n = *w.Spec.Completions
		}
		return s.Succeeded >= n, fmt.Sprintf("%d/%d succeeded", s.Succeeded, n)
	}
	return true, ""
}

var workloadKinds = []string{"deployment", "daemonset", "statefulset", "job"}

// pendingWorkloads lists the workloads not rolled out yet, as
// "deployment ns/name (1/2 available)".
func (r *run) pendingWorkloads(ctx context.Context) ([]string, error) {
	var out []string
	for _, kind := range workloadKinds {
		text, err := r.conn(r.master0).Run(ctx, "KUBECONFIG="+adminConf+" kubectl get "+kind+"s -A -o json", nil, nil)
		if err != nil {
			return nil, fmt.Errorf("kubectl get %ss on %s: %w", kind, r.master0, err)
		}
		var list struct {
			Items []workload `json:"items"`
		}
		if err := json.Unmarshal([]byte(text), &list); err != nil {
			return nil, fmt.Errorf("kubectl get %ss on %s: %w", kind, r.master0, err)
		}
		for _, w := range list.Items {
			if ok, why := w.rolledOut(kind); !ok {
				out = append(out, fmt.Sprintf("%s %s/%s (%s)", kind, w.Metadata.Namespace, w.Metadata.Name, why))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// podProblems names the pods whose containers wait for a reason that will
// not pass by itself.
func (r *run) podProblems(ctx context.Context) []string {
	text, err := r.conn(r.master0).Run(ctx, "KUBECONFIG="+adminConf+" kubectl get pods -A -o json", nil, nil)
	if err != nil {
		return nil
	}
	var list struct {
		Items []struct {
			Metadata struct{ Namespace, Name string } `json:"metadata"`
			Spec     struct {
				NodeName string `json:"nodeName"`
			} `json:"spec"`
			Status struct {
				ContainerStatuses []struct {
					Name  string `json:"name"`
					Image string `json:"image"`
					State struct {
						Waiting *struct{ Reason, Message string } `json:"waiting"`
					} `json:"state"`
				} `json:"containerStatuses"`
			} `json:"status"`
		} `json:"items"`
	}
	if json.Unmarshal([]byte(text), &list) != nil {
		return nil
	}
	var out []string
	for _, p := range list.Items {
		for _, c := range p.Status.ContainerStatuses {
			w := c.State.Waiting
			if w == nil {
				continue
			}
			switch w.Reason {
			case "ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError", "InvalidImageName":
				out = append(out, fmt.Sprintf("pod %s/%s on node %s: %s (image %s): %s", p.Metadata.Namespace, p.Metadata.Name, p.Spec.NodeName, w.Reason, c.Image, w.Message))
			}
		}
	}
	sort.Strings(out)
	return out
}
