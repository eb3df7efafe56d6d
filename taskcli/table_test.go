package taskcli

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-d)} }

func TestNewRow(t *testing.T) {
	succeeded := task("shop-a", 1, v1alpha1.TaskStateSucceeded)
	succeeded.CreationTimestamp = *at(3 * time.Hour)
	succeeded.Status.StartTime = at(3 * time.Hour)
	succeeded.Status.Duration = &metav1.Duration{Duration: 95 * time.Second}
	succeeded.Status.PodName = "shop-a-run-pod"
	succeeded.Status.ExitCode = new(int32(0))

	failed := task("shop-b", 2, v1alpha1.TaskStateFailed)
	failed.CreationTimestamp = *at(90 * time.Second)
	failed.Status.Duration = &metav1.Duration{Duration: 4 * time.Second}
	failed.Status.ExitCode = new(int32(3))
	failed.Status.FailureReason = "Exited with status 3"
	failed.Status.PodName = "shop-b-run-pod"

	running := task("shop-c", 3, v1alpha1.TaskStateRunning)
	running.CreationTimestamp = *at(20 * time.Second)
	running.Status.StartTime = at(12 * time.Second)
	running.Status.PodName = "shop-c-run-pod"

	fresh := task("shop-d", 0, "")

	tests := []struct {
		name string
		task *v1alpha1.Task
		want Row
	}{
		{"succeeded", succeeded, Row{App: "shop", ID: "1", Name: "shop-a", State: "Succeeded", Duration: "1m35s", Age: "3h", ExitCode: "0", Pod: "shop-a-run-pod", Reason: "-"}},
		{"failed", failed, Row{App: "shop", ID: "2", Name: "shop-b", State: "Failed", Duration: "4s", Age: "90s", ExitCode: "3", Pod: "shop-b-run-pod", Reason: "Exited with status 3"}},
		{"running counts its duration so far", running, Row{App: "shop", ID: "3", Name: "shop-c", State: "Running", Duration: "12s", Age: "20s", ExitCode: "-", Pod: "shop-c-run-pod", Reason: "-"}},
		{"not yet seen by taskgate", fresh, Row{App: "shop", ID: "-", Name: "shop-d", State: "Unknown", Duration: "-", Age: "<unknown>", ExitCode: "-", Pod: "-", Reason: "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, NewRow(tt.task, now)); diff != "" {
				t.Errorf("NewRow (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSortTasks(t *testing.T) {
	withApp := func(tk *v1alpha1.Task, app string) v1alpha1.Task {
		tk.Spec.AppRef.Name = app
		return *tk
	}
	tasks := []v1alpha1.Task{
		withApp(task("web-x", 0, ""), "web"),
		withApp(task("shop-new", 0, ""), "shop"),
		withApp(task("shop-ten", 10, ""), "shop"),
		withApp(task("shop-two", 2, ""), "shop"),
		withApp(task("shop-b", 1, ""), "shop"),
		withApp(task("shop-a", 1, ""), "shop"), // equal IDs cannot happen, but sort stably by name
		withApp(task("web-1", 1, ""), "web"),
		withApp(task("shop-aaa", 0, ""), "shop"),
	}
	SortTasks(tasks)
	var got []string
	for _, tk := range tasks {
		got = append(got, tk.Name)
	}
	want := []string{"shop-a", "shop-b", "shop-two", "shop-ten", "shop-aaa", "shop-new", "web-1", "web-x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SortTasks order (-want +got):\n%s", diff)
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{App: "shop", ID: "1", Name: "migrate", State: "Succeeded", Duration: "1m35s", Age: "3h", ExitCode: "0", Pod: "migrate-run-pod", Reason: "-"},
		{App: "shop", ID: "12", Name: "shop-8h2kd", State: "Failed", Duration: "4s", Age: "90s", ExitCode: "3", Pod: "shop-8h2kd-run-pod", Reason: "Exited with status 3"},
		{App: "shop", ID: "-", Name: "shop-x\tb", State: "Unknown", Duration: "-", Age: "1s", ExitCode: "-", Pod: "-", Reason: "two\nlines"},
	}
	tests := []struct {
		name string
		opts TableOptions
		want string
	}{{
		name: "default",
		want: "" +
			"ID   NAME         STATE       DURATION   AGE\n" +
			"1    migrate      Succeeded   1m35s      3h\n" +
			"12   shop-8h2kd   Failed      4s         90s\n" +
			"-    shop-x b     Unknown     -          1s\n",
	}, {
		name: "several apps",
		opts: TableOptions{ShowApp: true},
		want: "" +
			"APP    ID   NAME         STATE       DURATION   AGE\n" +
			"shop   1    migrate      Succeeded   1m35s      3h\n" +
			"shop   12   shop-8h2kd   Failed      4s         90s\n" +
			"shop   -    shop-x b     Unknown     -          1s\n",
	}, {
		name: "wide",
		opts: TableOptions{Wide: true},
		want: "" +
			"APP    ID   NAME         STATE       DURATION   AGE   EXIT CODE   POD                  REASON\n" +
			"shop   1    migrate      Succeeded   1m35s      3h    0           migrate-run-pod      -\n" +
			"shop   12   shop-8h2kd   Failed      4s         90s   3           shop-8h2kd-run-pod   Exited with status 3\n" +
			"shop   -    shop-x b     Unknown     -          1s    -           -                    two lines\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteTable(&buf, rows, tt.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("WriteTable (-want +got):\n%s", diff)
			}
		})
	}
}
