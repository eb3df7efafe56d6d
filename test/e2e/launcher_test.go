package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

const cnbLauncher = "/cnb/lifecycle/launcher"

// TestRealTaskRunsThroughTheAppLauncher: in a buildpack-shaped image,
// whose bundle only the launcher puts on PATH, the README's migration
// succeeds for an App that names the launcher, and the same command exits
// 127 for an App of the same image that does not, as it would under
// /bin/sh -c in a real CNB image.
func TestRealTaskRunsThroughTheAppLauncher(t *testing.T) {
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	const command = "bundle exec rake db:migrate"
	image := func(a *v1alpha1.App) {
		a.Spec.Image = localcluster.ImageBuildpack
		a.Spec.Command, a.Spec.Args = nil, nil
	}
	for _, tc := range []struct {
		name     string
		launcher string
		resolved []string
		state    v1alpha1.TaskState
		exitCode int32
		reason   string
		logs     string
	}{
		{"launcher", cnbLauncher, []string{cnbLauncher, command},
			v1alpha1.TaskStateSucceeded, 0, "", "bundler ran: exec rake db:migrate\n"},
		{"shell", "", []string{"/bin/sh", "-c", command},
			v1alpha1.TaskStateFailed, 127, "Exited with status 127", "/bin/sh: bundle: not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := newApp(t, c, ns, tc.name, image, func(a *v1alpha1.App) { a.Spec.Launcher = tc.launcher })
			task := realTask(t, c, app, "migrate-"+tc.name, command)
			if task.Spec.Resolved == nil || !slices.Equal(task.Spec.Resolved.Command, tc.resolved) || task.Spec.Resolved.Args != nil {
				t.Fatalf("spec.resolved = %+v, want command %q and no args", task.Spec.Resolved, tc.resolved)
			}
			done := waitForState(t, c, task, tc.state, 2*time.Minute)
			if done.Status.ExitCode == nil || *done.Status.ExitCode != tc.exitCode || done.Status.FailureReason != tc.reason {
				t.Fatalf("exit code %v, failure reason %q; want %d, %q", ptr.Deref(done.Status.ExitCode, -1), done.Status.FailureReason, tc.exitCode, tc.reason)
			}
			realPod(t, c, ns, done.Status.PodName)
			if got := containerLogs(t, ns, done.Status.PodName, "step-main"); got != tc.logs {
				t.Fatalf("logs = %q, want %q", got, tc.logs)
			}
		})
	}
}

// TestAppLauncherAdmission: the CRD refuses a relative launcher and the
// App webhook a path that is not clean, each at spec.launcher with the fix.
func TestAppLauncherAdmission(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	for _, tc := range []struct {
		launcher, want string
	}{
		{"cnb/lifecycle/launcher", `spec.launcher: Invalid value: "cnb/lifecycle/launcher": must be an absolute path in the image, for example /cnb/lifecycle/launcher`},
		{"/cnb//lifecycle/launcher", `spec.launcher: Invalid value: "/cnb//lifecycle/launcher": must be a clean path, without //, /./, /../ or a trailing /; use /cnb/lifecycle/launcher`},
		{"/", `spec.launcher: Invalid value: "/": must name a file in the image, not /; for example /cnb/lifecycle/launcher`},
	} {
		app := &v1alpha1.App{}
		app.Namespace, app.Name = ns, "shop"
		app.Spec.Image, app.Spec.Args, app.Spec.Launcher = "registry.example.com/shop/web:v1", []string{"run"}, tc.launcher
		requireDenied(t, "creating an App with launcher "+tc.launcher, c.Create(context.Background(), app), tc.want)
	}
}
