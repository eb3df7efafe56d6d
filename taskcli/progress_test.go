package taskcli

import (
	"bytes"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestFormatElapsed(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{400 * time.Millisecond, "0s"},
		{600 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{65 * time.Second, "1m05s"},
		{10 * time.Minute, "10m00s"},
		{2*time.Hour + 3*time.Minute + 9*time.Second, "2h03m09s"},
		{49 * time.Hour, "49h00m00s"},
	}
	for _, tt := range tests {
		if got := FormatElapsed(tt.in); got != tt.want {
			t.Errorf("FormatElapsed(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func task(name string, id int64, state v1alpha1.TaskState) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}},
		Status:     v1alpha1.TaskStatus{ID: id, State: state},
	}
}

func TestProgressLine(t *testing.T) {
	cancelling := task("shop-b", 4, v1alpha1.TaskStateRunning)
	cancelling.Spec.DesiredState = v1alpha1.DesiredStateCancelled
	cancelled := task("shop-c", 5, v1alpha1.TaskStateCancelled)
	cancelled.Spec.DesiredState = v1alpha1.DesiredStateCancelled

	tests := []struct {
		task    *v1alpha1.Task
		elapsed time.Duration
		want    string
	}{
		{task("shop-a", 0, ""), 0, "[0s] Task shop-a (ID pending) is Unknown"},
		{task("shop-a", 3, v1alpha1.TaskStatePending), time.Second, "[1s] Task shop-a (ID 3) is Pending"},
		{task("shop-a", 3, v1alpha1.TaskStateRunning), 75 * time.Second, "[1m15s] Task shop-a (ID 3) is Running"},
		{cancelling, 2 * time.Second, "[2s] Task shop-b (ID 4) is Cancelling"},
		{cancelled, 2 * time.Second, "[2s] Task shop-c (ID 5) is Cancelled"},
	}
	for _, tt := range tests {
		if got := ProgressLine(tt.task, tt.elapsed); got != tt.want {
			t.Errorf("ProgressLine = %q, want %q", got, tt.want)
		}
	}
}

func TestProgress(t *testing.T) {
	type step struct {
		state   v1alpha1.TaskState
		elapsed time.Duration
	}
	steps := []step{
		{v1alpha1.TaskStatePending, 0},
		{v1alpha1.TaskStatePending, 400 * time.Millisecond}, // same text
		{v1alpha1.TaskStatePending, time.Second},
		{v1alpha1.TaskStateRunning, 2 * time.Second},
		{v1alpha1.TaskStateRunning, 3 * time.Second},
	}
	tests := []struct {
		name     string
		terminal bool
		want     string
	}{{
		name:     "terminal rewrites one line",
		terminal: true,
		want: "\r\x1b[K[0s] Task shop-a (ID 3) is Pending" +
			"\r\x1b[K[1s] Task shop-a (ID 3) is Pending" +
			"\r\x1b[K[2s] Task shop-a (ID 3) is Running" +
			"\r\x1b[K[3s] Task shop-a (ID 3) is Running" +
			"\r\x1b[K",
	}, {
		name: "plain output gets a line per state",
		want: "[0s] Task shop-a (ID 3) is Pending\n" +
			"[2s] Task shop-a (ID 3) is Running\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := &progress{w: &buf, terminal: tt.terminal}
			for _, s := range steps {
				p.task(task("shop-a", 3, s.state), s.elapsed)
			}
			p.done()
			p.done() // nothing left to erase
			if got := buf.String(); got != tt.want {
				t.Errorf("output = %q, want %q", got, tt.want)
			}
		})
	}
}
