package reconciler

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// maxCacheLag bounds how long a reconcile waits for the cache to show a
// Task as this manager last wrote it. Past it, a Task that still differs is
// taken as written since by someone else.
const maxCacheLag = 5 * time.Second

// writtenTasks remembers, for each Task this manager wrote, the
// resourceVersion and status its last write returned, until the cache
// shows them. A reconcile that starts before the Task's own watch event
// arrives (a PipelineRun or TaskRun event queued it) would otherwise act on
// the Task as it was before the write: write the same status again, or one
// a step behind.
type writtenTasks struct {
	mu      sync.Mutex
	written map[types.NamespacedName]writtenTask
}

type writtenTask struct {
	uid             types.UID
	resourceVersion string
	status          v1alpha1.TaskStatus
	at              time.Time
}

// wrote records task as a write just returned it.
func (w *writtenTasks) wrote(task *v1alpha1.Task, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written == nil {
		w.written = map[types.NamespacedName]writtenTask{}
	}
	w.written[types.NamespacedName{Namespace: task.Namespace, Name: task.Name}] = writtenTask{
		uid: task.UID, resourceVersion: task.ResourceVersion, status: *task.Status.DeepCopy(), at: now,
	}
}

// behind returns how much longer to wait for the cache, which read cached,
// to show the last write to it; 0 once it does, or once maxCacheLag has
// passed, when the record is dropped. The Task's watch event for the write
// queues it again, so the wait is a bound, not a delay.
func (w *writtenTasks) behind(cached *v1alpha1.Task, now time.Time) time.Duration {
	key := types.NamespacedName{Namespace: cached.Namespace, Name: cached.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.written[key]
	if !ok {
		return 0
	}
	wait := last.at.Add(maxCacheLag).Sub(now)
	// The same resourceVersion is the write itself; the same status, a
	// later write that kept it (the completion TTL, say).
	caughtUp := last.uid != cached.UID || last.resourceVersion == cached.ResourceVersion ||
		equality.Semantic.DeepEqual(last.status, cached.Status)
	if caughtUp || wait <= 0 {
		w.drop(key)
		return 0
	}
	return wait
}

// forget drops the record of a Task that is gone.
func (w *writtenTasks) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop(key)
}

// drop deletes key's record. The last one drops the map too: a Go map
// keeps the size of its largest burst, a thousand Tasks created at once.
func (w *writtenTasks) drop(key types.NamespacedName) {
	delete(w.written, key)
	if len(w.written) == 0 {
		w.written = nil
	}
}
