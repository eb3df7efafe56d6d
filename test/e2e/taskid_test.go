package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/reconciler"
	"github.com/taskgate/taskgate/test/localcluster"
)

// TestOrphanTaskTakesNoIDFromANewApp: a Task left behind when its App was
// deleted without its Tasks (propagationPolicy Orphan), before it had an
// ID, takes none from a new App of the same name, says why in an Event,
// and the new App's own Tasks number from 1.
func TestOrphanTaskTakesNoIDFromANewApp(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)

	// A replica that serves the webhooks but never leads, so no reconciler
	// gives the Task an ID while its first App exists: the Lease is held
	// for an hour by no one that runs.
	const leaseID = "e2e-orphan-ids"
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: leaseID},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("elsewhere"), LeaseDurationSeconds: ptr.To[int32](3600), AcquireTime: &now, RenewTime: &now}}
	if err := c.Create(ctx, lease); err != nil {
		t.Fatalf("creating Lease: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, lease) })
	bin := filepath.Join(cluster.Dir, "taskgate")
	if err := localcluster.BuildManager(ctx, cluster.RepoRoot, bin); err != nil {
		t.Fatal(err)
	}
	if err := stopManager(); err != nil {
		t.Fatalf("stopping the test's manager: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := restartManager(); err != nil {
				t.Errorf("restarting the test's manager: %v", err)
			}
		}
	})
	follower, err := localcluster.StartManager(ctx, localcluster.ManagerOptions{
		Binary: bin, Kubeconfig: cluster.Kubeconfig, Namespace: managerNamespace, Webhooks: running.hooks,
		Log:  filepath.Join(cluster.Dir, "manager-orphan.log"),
		Args: []string{"--leader-elect=true", "--leader-election-id=" + leaseID},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(follower.Stop)

	first := newApp(t, c, ns, "web")
	orphan := newTask(t, c, first, "orphan", nil)
	if err := c.Delete(ctx, first, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatalf("deleting App without its Tasks: %v", err)
	}
	eventually(t, time.Minute, "the App to go and its Task to be orphaned", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(first), &v1alpha1.App{}); !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("App: %v", err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(orphan), orphan); err != nil {
			return false, err
		}
		return len(orphan.OwnerReferences) == 0, fmt.Errorf("owners %v", orphan.OwnerReferences)
	})
	if orphan.Status.ID != 0 {
		t.Fatalf("the orphan has ID %d before any reconciler ran", orphan.Status.ID)
	}
	second := newApp(t, c, ns, "web")

	follower.Stop()
	if err := restartManager(); err != nil {
		t.Fatalf("restarting the test's manager: %v", err)
	}
	restarted = true
	fresh := waitForState(t, c, newTask(t, c, second, "fresh", nil), v1alpha1.TaskStateSucceeded, time.Minute)
	if fresh.Status.ID != 1 {
		t.Fatalf("the new App's first Task has ID %d, want 1", fresh.Status.ID)
	}

	var events eventsv1.EventList
	eventually(t, time.Minute, "the orphan's "+reconciler.ReasonNotOwnedByApp+" Event", func() (bool, error) {
		if err := c.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == orphan.Name && e.Reason == reconciler.ReasonNotOwnedByApp {
				want := fmt.Sprintf("App web is not the App this Task was created for (uid %s); the Task takes no ID from it", second.UID)
				if e.Type != "Warning" || e.Note != want {
					return false, fmt.Errorf("event %s %q, want Warning %q", e.Type, e.Note, want)
				}
				return true, nil
			}
		}
		return false, fmt.Errorf("%d events, none %s on %s", len(events.Items), reconciler.ReasonNotOwnedByApp, orphan.Name)
	})
	if err := c.Get(ctx, client.ObjectKeyFromObject(orphan), orphan); err != nil {
		t.Fatal(err)
	}
	if orphan.Status.ID != 0 {
		t.Fatalf("the orphan has ID %d; want none", orphan.Status.ID)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: orphan.Name}, &pipelinev1.PipelineRun{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the orphan's PipelineRun: %v; want none", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(second), second); err != nil {
		t.Fatal(err)
	}
	if second.Status.LastTaskID != 1 || len(second.Status.PendingTaskIDs) > 1 ||
		(len(second.Status.PendingTaskIDs) == 1 && second.Status.PendingTaskIDs[0].UID != string(fresh.UID)) {
		t.Fatalf("the new App's status: lastTaskID %d, pending %+v; want 1, nothing promised to the orphan", second.Status.LastTaskID, second.Status.PendingTaskIDs)
	}
}
