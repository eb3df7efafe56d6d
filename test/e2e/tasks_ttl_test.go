package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// TestTaskCompletionTTLInStatus: the completion-time TTL policy's decision
// for a Task travels in its final status, not in a write of its own: the
// Task's spec and annotations stay as admission left them, and the Task is
// deleted when the status's TTL, not the spec's, has passed.
func TestTaskCompletionTTLInStatus(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	applyPolicy(t, c, fmt.Sprintf(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
ttl:
  rules:
  - {name: succeeded-quick, kinds: [Task], namespaces: [%s], when: Succeeded, ttlSecondsAfterFinished: 4}
  - {name: failed-hour, kinds: [Task], namespaces: [%s], when: Failed, ttlSecondsAfterFinished: 3600}
`, ns, ns))
	app := newApp(t, c, ns, "shop")

	// Admission gives the longest TTL the Task could end with.
	task := newTask(t, c, app, "quick", nil)
	admitted := map[string]string{
		"taskgate.dev/policy-decision": "set ttlSecondsAfterFinished=3600 (rule failed-hour)",
		"taskgate.dev/ttl-source":      "policy",
	}
	if !ptr.Equal(task.Spec.TTLSecondsAfterFinished, ptr.To[int32](3600)) || !maps.Equal(task.Annotations, admitted) {
		t.Fatalf("admitted Task: TTL %s, annotations %v; want 3600, %v", ttlString(task.Spec.TTLSecondsAfterFinished), task.Annotations, admitted)
	}
	if task.Status.TTLSecondsAfterFinished != nil || task.Status.TTLDecision != "" {
		t.Fatalf("a new Task's status has TTL %s, decision %q", ttlString(task.Status.TTLSecondsAfterFinished), task.Status.TTLDecision)
	}

	// The status that says it succeeded says its TTL.
	done := waitForState(t, c, task, v1alpha1.TaskStateSucceeded, time.Minute)
	const decision = "shortened ttlSecondsAfterFinished to 4 (rule succeeded-quick)"
	if !ptr.Equal(done.Status.TTLSecondsAfterFinished, ptr.To[int32](4)) || done.Status.TTLDecision != decision {
		t.Fatalf("finished Task's status: TTL %s, decision %q; want 4, %q", ttlString(done.Status.TTLSecondsAfterFinished), done.Status.TTLDecision, decision)
	}
	if !ptr.Equal(done.Spec.TTLSecondsAfterFinished, ptr.To[int32](3600)) || !maps.Equal(done.Annotations, admitted) || done.Generation != task.Generation {
		t.Fatalf("finished Task: spec TTL %s, annotations %v, generation %d; want admission's: 3600, %v, %d",
			ttlString(done.Spec.TTLSecondsAfterFinished), done.Annotations, done.Generation, admitted, task.Generation)
	}
	finished := succeededCondition(t, done).LastTransitionTime.Time

	eventually(t, 30*time.Second, "the Task to be deleted by its status's TTL", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(task), &v1alpha1.Task{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	// The condition's time is to the second: the Task lived at least 3 s.
	lived := time.Since(finished)
	t.Logf("deleted %s after it finished (TTL 4s)", lived.Round(100*time.Millisecond))
	if lived < 3*time.Second {
		t.Fatalf("deleted %s after it finished, before its 4s TTL", lived)
	}
}

// TestTaskCompletionTTLReadsNamespaceLabels: a finished Task's TTL is
// decided with its namespace's labels, as its creation TTL was: a rule
// whose namespaceSelector matches the namespace applies, and a namespace
// opted out of policy keeps its Tasks as their authors made them.
func TestTaskCompletionTTLReadsNamespaceLabels(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	scratch, optedOut := newNamespace(t, c), newNamespace(t, c)
	tier := "e2e.taskgate.dev/tier-" + scratch
	setNamespaceLabel(t, c, scratch, tier, "scratch")
	setNamespaceLabel(t, c, optedOut, policy.DefaultOptOutLabel, policy.OptOutValue)
	applyPolicy(t, c, fmt.Sprintf(`apiVersion: taskgate.dev/v1alpha1
kind: Policy
ttl:
  rules:
  - {name: scratch-succeeded, kinds: [Task], when: Succeeded, namespaceSelector: {matchLabels: {%[1]s: scratch}}, ttlSecondsAfterFinished: 4}
  - {name: scratch-failed, kinds: [Task], when: Failed, namespaceSelector: {matchLabels: {%[1]s: scratch}}, ttlSecondsAfterFinished: 7200}
  - {name: succeeded-hour, kinds: [Task], namespaces: [%[2]s, %[3]s], when: Succeeded, ttlSecondsAfterFinished: 3600}
`, tier, scratch, optedOut))

	// Admission reads the labels from the manager's cache, a moment
	// behind the writes: wait until it gives what they select, 7200 in
	// the scratch namespace (3600 without its label) and none in the one
	// opted out (3600 without its label).
	apps := map[string]*v1alpha1.App{}
	for _, want := range []struct {
		ns  string
		ttl *int32
	}{{scratch, ptr.To[int32](7200)}, {optedOut, nil}} {
		app := newApp(t, c, want.ns, "shop")
		apps[want.ns] = app
		eventually(t, 30*time.Second, "admission to read namespace "+want.ns+"'s labels", func() (bool, error) {
			probe := &v1alpha1.Task{
				ObjectMeta: metav1.ObjectMeta{Namespace: want.ns, Name: "probe"},
				Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}},
			}
			if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
				return false, err
			}
			return ptr.Equal(probe.Spec.TTLSecondsAfterFinished, want.ttl), fmt.Errorf("admitted with TTL %s", ttlString(probe.Spec.TTLSecondsAfterFinished))
		})
	}

	// The scratch namespace's rule shortens the TTL when the Task
	// succeeds, and the Task goes after it.
	task := newTask(t, c, apps[scratch], "quick", nil)
	if !ptr.Equal(task.Spec.TTLSecondsAfterFinished, ptr.To[int32](7200)) {
		t.Fatalf("admitted Task in %s: TTL %s, want 7200", scratch, ttlString(task.Spec.TTLSecondsAfterFinished))
	}
	done := waitForState(t, c, task, v1alpha1.TaskStateSucceeded, time.Minute)
	const decision = "shortened ttlSecondsAfterFinished to 4 (rule scratch-succeeded)"
	if !ptr.Equal(done.Status.TTLSecondsAfterFinished, ptr.To[int32](4)) || done.Status.TTLDecision != decision {
		t.Fatalf("finished Task in %s: status TTL %s, decision %q; want 4, %q", scratch, ttlString(done.Status.TTLSecondsAfterFinished), done.Status.TTLDecision, decision)
	}
	eventually(t, 30*time.Second, "the Task to be deleted by its namespace's rule", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(task), &v1alpha1.Task{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})

	// A Task of the namespace opted out finishes with no TTL: neither
	// admission nor completion gave it one.
	kept := newTask(t, c, apps[optedOut], "kept", nil)
	done = waitForState(t, c, kept, v1alpha1.TaskStateSucceeded, time.Minute)
	if done.Spec.TTLSecondsAfterFinished != nil || done.Status.TTLSecondsAfterFinished != nil || done.Status.TTLDecision != "" {
		t.Fatalf("finished Task in the opted-out namespace %s: spec TTL %s, status TTL %s, decision %q; want none, none, \"\"",
			optedOut, ttlString(done.Spec.TTLSecondsAfterFinished), ttlString(done.Status.TTLSecondsAfterFinished), done.Status.TTLDecision)
	}
}

func ttlString(ttl *int32) string {
	if ttl == nil {
		return "none"
	}
	return fmt.Sprint(*ttl)
}
