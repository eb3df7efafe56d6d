package inherit

import (
	"slices"
	"testing"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/message"
)

func TestLauncherDetectionWarnings(t *testing.T) {
	for _, w := range []string{
		WarningLauncherDetected, WarningLauncherRegistryNotListed, WarningLauncherInvalidImage,
		WarningLauncherNotRead("the registry answered 503"), WarningCommandReplacesEntrypointDetected,
	} {
		if len(w) > message.MaxWarning {
			t.Errorf("warning of %d characters, more than %d: %q", len(w), message.MaxWarning, w)
		}
	}
	if got, want := WarningLauncherNotRead("the registry timed out"),
		"/bin/sh -c runs spec.command: image labels unread: the registry timed out; a CNB image needs App spec.launcher"; got != want {
		t.Errorf("WarningLauncherNotRead = %q, want %q", got, want)
	}
}

func TestDetectsLauncher(t *testing.T) {
	tests := []struct {
		name     string
		launcher string
		command  string
		want     bool
	}{
		{"a command, no launcher", "", "rake db:migrate", true},
		{"the App's launcher wins", "/cnb/lifecycle/launcher", "rake db:migrate", false},
		{"no command: the App's args run", "", "", false},
	}
	for _, tt := range tests {
		app := &v1alpha1.App{Spec: v1alpha1.AppSpec{Launcher: tt.launcher}}
		task := &v1alpha1.Task{Spec: v1alpha1.TaskSpec{Command: tt.command}}
		if got := DetectsLauncher(app, task); got != tt.want {
			t.Errorf("%s: DetectsLauncher = %t, want %t", tt.name, got, tt.want)
		}
		if got := WithLauncher(app, "/x"); got.Spec.Launcher != "/x" || app.Spec.Launcher != tt.launcher {
			t.Errorf("%s: WithLauncher gave %q and left the App's %q", tt.name, got.Spec.Launcher, app.Spec.Launcher)
		}
	}
}

func TestDetectedLauncherWarnings(t *testing.T) {
	in := []string{WarningCommandReplacesEntrypointLauncher, "other"}
	got := DetectedLauncherWarnings(in)
	want := []string{"spec.command runs through the image's launcher; the App's command (entrypoint) and args are not used", "other"}
	if !slices.Equal(got, want) || in[0] != WarningCommandReplacesEntrypointLauncher {
		t.Errorf("DetectedLauncherWarnings = %q, want %q, leaving its argument %q", got, want, in)
	}
}
