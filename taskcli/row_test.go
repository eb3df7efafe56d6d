package taskcli

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-d)} }

func TestNewRow(t *testing.T) {
	succeeded := task("shop-a", 1, v1alpha1.TaskStateSucceeded)
	succeeded.Namespace = "team-a"
	succeeded.Spec.DisplayName = "nightly"
	succeeded.Spec.Command = "bundle exec rake db:migrate"
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

	// No command of its own: the App's start command, as copied at create.
	running := task("shop-c", 3, v1alpha1.TaskStateRunning)
	running.CreationTimestamp = *at(20 * time.Second)
	running.Status.StartTime = &metav1.Time{Time: now.Add(-12 * time.Second).In(time.FixedZone("CET", 3600))}
	running.Status.PodName = "shop-c-run-pod"
	running.Spec.Resolved = &v1alpha1.ResolvedRun{Args: []string{"bin/worker", "--once"}}

	fresh := task("shop-d", 0, "")

	tests := []struct {
		name string
		task *v1alpha1.Task
		want Row
	}{
		{"succeeded", succeeded, Row{App: "shop", ID: "1", Name: "shop-a", DisplayName: "nightly", State: "Succeeded",
			Started: "2026-11-23T09:00:00Z", Duration: "1m35s", Age: "3h", Command: "bundle exec rake db:migrate", ExitCode: "0", Pod: "shop-a-run-pod", Reason: "-"}},
		{"failed", failed, Row{App: "shop", ID: "2", Name: "shop-b", DisplayName: "-", State: "Failed",
			Started: "-", Duration: "4s", Age: "90s", Command: "-", ExitCode: "3", Pod: "shop-b-run-pod", Reason: "Exited with status 3"}},
		{"running counts its duration so far, start in UTC", running, Row{App: "shop", ID: "3", Name: "shop-c", DisplayName: "-", State: "Running",
			Started: "2026-11-23T11:59:48Z", Duration: "12s", Age: "20s", Command: "bin/worker --once", ExitCode: "-", Pod: "shop-c-run-pod", Reason: "-"}},
		{"not yet seen by taskgate", fresh, Row{App: "shop", ID: "-", Name: "shop-d", DisplayName: "-", State: "Unknown",
			Started: "-", Duration: "-", Age: "<unknown>", Command: "-", ExitCode: "-", Pod: "-", Reason: "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, NewRow(tt.task, now)); diff != "" {
				t.Errorf("NewRow (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetails(t *testing.T) {
	tk := task("shop-8h2kd", 3, v1alpha1.TaskStateFailed)
	tk.Spec.DisplayName = "nightly"
	tk.Spec.Command = "rake db:migrate"
	tk.CreationTimestamp = *at(time.Hour)
	tk.Status.StartTime = at(59 * time.Minute)
	tk.Status.Duration = &metav1.Duration{Duration: 41 * time.Second}
	tk.Status.ExitCode = new(int32(75))
	tk.Status.FailureReason = "Exited with status 75"
	tk.Status.PodName = "shop-8h2kd-run-pod"
	tk.Spec.Resolved = &v1alpha1.ResolvedRun{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceEphemeralStorage: resource.MustParse("2Gi"),
	}}}
	var buf bytes.Buffer
	if err := WriteDetails(&buf, Details(tk, now)); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"id:               3\n" +
		"name:             nightly\n" +
		"task:             shop-8h2kd\n" +
		"app:              shop\n" +
		"state:            Failed\n" +
		"start time:       2026-11-23T11:01:00Z\n" +
		"duration:         41s\n" +
		"command:          rake db:migrate\n" +
		"cpu:              -\n" +
		"memory:           1Gi\n" +
		"disk:             2Gi\n" +
		"exit code:        75\n" +
		"failure reason:   Exited with status 75\n" +
		"pod:              shop-8h2kd-run-pod\n" +
		"age:              60m\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
}

func TestRootArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"shop", "3"}, ""},
		{[]string{"lst"}, `unknown command "lst" for "kubectl task": run kubectl task --help, or kubectl task APP ID to show one Task`},
		{[]string{"lst", "shop"}, `unknown command "lst" for "kubectl task": run kubectl task --help, or kubectl task APP ID to show one Task`},
		{[]string{"shop", "3", "4"}, `unknown command "shop" for "kubectl task": run kubectl task --help, or kubectl task APP ID to show one Task`},
	}
	for _, tt := range tests {
		got := ""
		if err := rootArgs(nil, tt.args); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("rootArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
