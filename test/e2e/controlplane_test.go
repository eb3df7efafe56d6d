package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/test/localcluster"
)

// These tests prove the local control plane is real: Tekton reconciles
// PipelineRuns, kwok runs their pods to the outcome a test asks for, and the
// in-tree Job and TTL-after-finished controllers work.

func onePipelineRun(ns, name string, annotations map[string]string) *pipelinev1.PipelineRun {
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineSpec: &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{{
				Name: "run",
				TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{
					Name: "main", Image: "registry.example.com/app:v1", Command: []string{"/bin/sh", "-c", "echo hi"},
				}}}},
			}}},
		},
	}
}

// finishedCondition waits until the PipelineRun's Succeeded condition is
// final and returns it.
func finishedCondition(t *testing.T, c client.Client, pr *pipelinev1.PipelineRun) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	eventually(t, time.Minute, "PipelineRun "+pr.Name+" to finish", func() (bool, error) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(pr), pr); err != nil {
			return false, err
		}
		cond := pr.Status.GetCondition("Succeeded")
		if cond == nil || cond.IsUnknown() {
			return false, nil
		}
		got = metav1.Condition{Type: string(cond.Type), Status: metav1.ConditionStatus(cond.Status), Reason: cond.Reason}
		return true, nil
	})
	return got
}

// stepExitCode returns the exit code of the PipelineRun's only step.
func stepExitCode(t *testing.T, c client.Client, pr *pipelinev1.PipelineRun) int32 {
	t.Helper()
	if len(pr.Status.ChildReferences) != 1 {
		t.Fatalf("PipelineRun has %d child references, want 1", len(pr.Status.ChildReferences))
	}
	tr := &pipelinev1.TaskRun{}
	key := client.ObjectKey{Namespace: pr.Namespace, Name: pr.Status.ChildReferences[0].Name}
	if err := c.Get(context.Background(), key, tr); err != nil {
		t.Fatalf("getting TaskRun: %v", err)
	}
	if len(tr.Status.Steps) != 1 || tr.Status.Steps[0].Terminated == nil {
		t.Fatalf("TaskRun steps = %+v, want one terminated step", tr.Status.Steps)
	}
	return tr.Status.Steps[0].Terminated.ExitCode
}

func TestPipelineRunSucceeds(t *testing.T) {
	c := newClient(t)
	pr := onePipelineRun(newNamespace(t, c), "ok", nil)
	if err := c.Create(context.Background(), pr); err != nil {
		t.Fatalf("creating PipelineRun: %v", err)
	}
	got := finishedCondition(t, c, pr)
	want := metav1.Condition{Type: "Succeeded", Status: metav1.ConditionTrue, Reason: "Succeeded"}
	if got != want {
		t.Fatalf("condition = %+v, want %+v", got, want)
	}
	if code := stepExitCode(t, c, pr); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
}

func TestPipelineRunFailsWithExitCode(t *testing.T) {
	c := newClient(t)
	pr := onePipelineRun(newNamespace(t, c), "fails", map[string]string{localcluster.AnnotationExitCode: "3"})
	if err := c.Create(context.Background(), pr); err != nil {
		t.Fatalf("creating PipelineRun: %v", err)
	}
	got := finishedCondition(t, c, pr)
	want := metav1.Condition{Type: "Succeeded", Status: metav1.ConditionFalse, Reason: "Failed"}
	if got != want {
		t.Fatalf("condition = %+v, want %+v", got, want)
	}
	if code := stepExitCode(t, c, pr); code != 3 {
		t.Fatalf("exit code = %d, want 3", code)
	}
}

func TestJobDeletedByTTLController(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ttl"},
		Spec: batchv1.JobSpec{
			TTLSecondsAfterFinished: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "registry.example.com/app:v1"}},
			}},
		},
	}
	if err := c.Create(context.Background(), job); err != nil {
		t.Fatalf("creating Job: %v", err)
	}
	var completedAt time.Time
	eventually(t, time.Minute, "the Job to complete", func() (bool, error) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(job), job); err != nil {
			return false, err
		}
		for _, cond := range job.Status.Conditions {
			if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
				completedAt = cond.LastTransitionTime.Time
				return true, nil
			}
		}
		return false, nil
	})
	eventually(t, time.Minute, "the TTL controller to delete the Job", func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(job), &batchv1.Job{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	// The controller may not delete before the TTL has passed. Condition
	// times have one-second precision.
	if lived := time.Since(completedAt); lived < 2*time.Second {
		t.Fatalf("Job deleted %s after completing, before its 3s TTL", lived)
	}
	t.Logf("Job deleted %s after completing, TTL 3s", time.Since(completedAt).Round(100*time.Millisecond))
}

// TestNodeKeepsItsAddressWhenInitializedAgain shows that a node marked
// NotReady, as the node lifecycle controller marks it when kube-apiserver
// was down longer than the node lease, comes back from kwok with its
// address and kubelet endpoint, which `kubectl logs` needs. kwok's stock
// node-initialize stage dropped them (see localcluster's keptAddresses).
func TestNodeKeepsItsAddressWhenInitializedAgain(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes); err != nil {
		t.Fatalf("listing nodes: %v", err)
	}
	if len(nodes.Items) == 0 {
		t.Fatal("the cluster has no nodes")
	}
	node := &nodes.Items[0]
	wantAddresses, wantPort := node.Status.Addresses, node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if !slices.Contains(wantAddresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}) || wantPort == 0 {
		t.Fatalf("node %s has addresses %v and kubelet port %d, want InternalIP 127.0.0.1 and kwok's port", node.Name, wantAddresses, wantPort)
	}
	before := node.DeepCopy()
	for i := range node.Status.Conditions {
		if cond := &node.Status.Conditions[i]; cond.Type == corev1.NodeReady {
			cond.Status, cond.Reason, cond.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."
		}
	}
	if err := c.Status().Patch(ctx, node, client.StrategicMergeFrom(before)); err != nil {
		t.Fatalf("marking node %s NotReady: %v", node.Name, err)
	}
	ready := func(n *corev1.Node) bool {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	eventually(t, time.Minute, "kwok to initialize the node again", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(node), node)
		return err == nil && ready(node), err
	})
	if !equality.Semantic.DeepEqual(node.Status.Addresses, wantAddresses) || node.Status.DaemonEndpoints.KubeletEndpoint.Port != wantPort {
		t.Errorf("after kwok initialized node %s again: addresses %v, kubelet port %d; want %v, %d",
			node.Name, node.Status.Addresses, node.Status.DaemonEndpoints.KubeletEndpoint.Port, wantAddresses, wantPort)
	}
	// The node lifecycle controller may have tainted the node meanwhile;
	// later tests schedule pods on it.
	eventually(t, time.Minute, "the node's NotReady taints to go", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return false, err
		}
		return !slices.ContainsFunc(node.Spec.Taints, func(taint corev1.Taint) bool {
			return taint.Key == corev1.TaintNodeUnreachable || taint.Key == corev1.TaintNodeNotReady
		}), nil
	})
}
