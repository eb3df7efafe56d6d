package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
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

func ttlString(ttl *int32) string {
	if ttl == nil {
		return "none"
	}
	return fmt.Sprint(*ttl)
}
