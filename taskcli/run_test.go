package taskcli

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestBuildTask(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	typeMeta := metav1.TypeMeta{APIVersion: "taskgate.dev/v1alpha1", Kind: "Task"}
	tests := []struct {
		name  string
		flags runFlags
		want  *v1alpha1.Task
	}{{
		name:  "the App's start command, under a generated name",
		flags: runFlags{},
		want: &v1alpha1.Task{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{GenerateName: "shop-"},
			Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}}},
	}, {
		name: "every flag",
		flags: runFlags{
			command: "bundle exec rake db:migrate", displayName: "migrate-2026-11",
			cpu: "500m", memory: "1G", disk: "512MB", timeout: "30m",
			env:         []string{"RAILS_ENV=production", "EMPTY=", "URL=postgres://db?a=b", "RAILS_ENV=staging"},
			annotations: []string{"team=payments", "localcluster.taskgate.dev/exit-code=3"},
		},
		want: &v1alpha1.Task{
			TypeMeta: typeMeta,
			ObjectMeta: metav1.ObjectMeta{GenerateName: "shop-", Annotations: map[string]string{
				"team": "payments", "localcluster.taskgate.dev/exit-code": "3",
			}},
			Spec: v1alpha1.TaskSpec{
				AppRef:      v1alpha1.AppReference{Name: "shop"},
				DisplayName: "migrate-2026-11",
				Command:     "bundle exec rake db:migrate",
				CPU:         q("500m"),
				Memory:      q("1Gi"),
				Disk:        q("512Mi"),
				Timeout:     &metav1.Duration{Duration: 30 * time.Minute},
				Env: []corev1.EnvVar{
					{Name: "RAILS_ENV", Value: "staging"},
					{Name: "EMPTY", Value: ""},
					{Name: "URL", Value: "postgres://db?a=b"},
				},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildTask("shop", &tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("buildTask (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunFlags shows that cf's and Kf's spellings of run's flags fill the
// same fields: --name is the display name in both.
func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want runFlags
	}{
		{"cf", []string{"--command", "rake db:migrate", "--name", "nightly", "-m", "1G", "-k", "2G"},
			runFlags{command: "rake db:migrate", displayName: "nightly", memory: "1G", disk: "2G"}},
		{"kf", []string{"-c", "rake db:migrate", "--name", "nightly", "--cpu-cores", "2", "--memory-limit", "1G", "--disk-quota", "2G"},
			runFlags{command: "rake db:migrate", displayName: "nightly", cpu: "2", memory: "1G", disk: "2G"}},
		{"taskgate's own", []string{"--display-name", "nightly", "--cpu", "500m", "--memory", "512Mi", "--disk", "1Gi", "-w"},
			runFlags{displayName: "nightly", cpu: "500m", memory: "512Mi", disk: "1Gi", wait: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got runFlags
			fl := pflag.NewFlagSet("run", pflag.ContinueOnError)
			bindRunFlags(fl, &got)
			if err := fl.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(runFlags{})); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildTaskErrors(t *testing.T) {
	tests := []struct {
		flags runFlags
		want  string
	}{
		{runFlags{memory: "lots"}, `--memory: "lots" is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi`},
		{runFlags{disk: "0G"}, `--disk: "0G" must be greater than 0`},
		{runFlags{cpu: "-1"}, `--cpu: "-1" must be greater than 0`},
		{runFlags{timeout: "soon"}, `--timeout: "soon" is not a duration such as 30m or 2h (0s for no limit)`},
		{runFlags{timeout: "-5m"}, `--timeout: "-5m" is not a duration such as 30m or 2h (0s for no limit)`},
		{runFlags{env: []string{"RAILS_ENV"}}, `--env "RAILS_ENV": want KEY=VALUE`},
		{runFlags{env: []string{"=x"}}, `--env "=x": want KEY=VALUE`},
		{runFlags{annotations: []string{"team"}}, `--annotation "team": want KEY=VALUE`},
	}
	for _, tt := range tests {
		_, err := buildTask("shop", &tt.flags)
		if err == nil || err.Error() != tt.want {
			t.Errorf("buildTask(%+v) error =\n%v\nwant\n%s", tt.flags, err, tt.want)
		}
	}
}

func TestOutcomeLine(t *testing.T) {
	succeeded := task("shop-a", 1, v1alpha1.TaskStateSucceeded)
	succeeded.Status.Duration = &metav1.Duration{Duration: 65 * time.Second}
	failed := task("shop-b", 2, v1alpha1.TaskStateFailed)
	failed.Status.FailureReason = "Exited with status 3"
	timedOut := task("shop-c", 3, v1alpha1.TaskStateFailed)
	timedOut.Status.Conditions = []metav1.Condition{{Type: "Succeeded", Status: "False", Reason: "TimedOut", Message: "Task ran longer than its 30m timeout"}}
	tests := []struct {
		task *v1alpha1.Task
		want string
	}{
		{succeeded, "Task shop-a (ID 1) succeeded in 1m05s"},
		{task("shop-a", 1, v1alpha1.TaskStateSucceeded), "Task shop-a (ID 1) succeeded"},
		{failed, "Task shop-b (ID 2) failed: Exited with status 3"},
		{timedOut, "Task shop-c (ID 3) failed: Task ran longer than its 30m timeout"},
		{task("shop-d", 4, v1alpha1.TaskStateFailed), "Task shop-d (ID 4) failed: taskgate gave no reason"},
		{task("shop-e", 5, v1alpha1.TaskStateCancelled), "Task shop-e (ID 5) was cancelled"},
	}
	for _, tt := range tests {
		if got := outcomeLine(tt.task); got != tt.want {
			t.Errorf("outcomeLine = %q, want %q", got, tt.want)
		}
	}
}

func TestOutcomeExitStatus(t *testing.T) {
	exited := func(code int32) *v1alpha1.Task {
		tk := task("shop-a", 1, v1alpha1.TaskStateFailed)
		tk.Status.ExitCode = &code
		return tk
	}
	tests := []struct {
		name string
		task *v1alpha1.Task
		want int
	}{
		{"succeeded", task("shop-a", 1, v1alpha1.TaskStateSucceeded), 0},
		{"command exited 75", exited(75), 75},
		{"command exited 137", exited(137), 137},
		{"failed without an exit code", task("shop-a", 1, v1alpha1.TaskStateFailed), 1},
		{"cancelled", task("shop-a", 1, v1alpha1.TaskStateCancelled), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewOptions(genericiooptions.NewTestIOStreamsDiscard()).outcome(io.Discard, tt.task)
			got := 0
			if err != nil {
				got = 1
				if exit, ok := errors.AsType[exitError](err); ok {
					got = exit.code
				}
			}
			if got != tt.want {
				t.Fatalf("exit status = %d, want %d (error %v)", got, tt.want, err)
			}
		})
	}
}
