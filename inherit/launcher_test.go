package inherit

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

const cnbLauncher = "/cnb/lifecycle/launcher"

func TestResolveTaskCommandWithAndWithoutLauncher(t *testing.T) {
	tests := []struct {
		name     string
		app      *v1alpha1.App
		command  string
		wantCmd  []string
		wantArgs []string
		warnings []string
		errs     []string
	}{{
		name:    "no launcher: the shell splits the command",
		app:     newApp(),
		command: "bundle exec rake db:migrate",
		wantCmd: []string{"/bin/sh", "-c", "bundle exec rake db:migrate"},
	}, {
		name:    "a launcher takes the whole command as its one argument",
		app:     newApp(func(a *v1alpha1.App) { a.Spec.Launcher = cnbLauncher }),
		command: "bundle exec rake db:migrate",
		wantCmd: []string{cnbLauncher, "bundle exec rake db:migrate"},
	}, {
		name:    "quotes and shell syntax reach the launcher unchanged",
		app:     newApp(func(a *v1alpha1.App) { a.Spec.Launcher = cnbLauncher }),
		command: `echo "a  b" && exit 3`,
		wantCmd: []string{cnbLauncher, `echo "a  b" && exit 3`},
	}, {
		name: "a launcher replaces the App's command, with a warning that names no path",
		app: newApp(func(a *v1alpha1.App) {
			a.Spec.Launcher = cnbLauncher
			a.Spec.Command = []string{"/cnb/process/web"}
		}),
		command:  "rake db:migrate",
		wantCmd:  []string{cnbLauncher, "rake db:migrate"},
		warnings: []string{WarningCommandReplacesEntrypointLauncher},
	}, {
		name:     "without a Task command the App's command and args run, not the launcher",
		app:      newApp(func(a *v1alpha1.App) { a.Spec.Launcher = cnbLauncher; a.Spec.Command = []string{"/cnb/process/web"} }),
		wantCmd:  []string{"/cnb/process/web"},
		wantArgs: []string{"bundle", "exec", "puma"},
	}, {
		name:     "without a Task command or App command the image's ENTRYPOINT gets the App's args",
		app:      newApp(func(a *v1alpha1.App) { a.Spec.Launcher = cnbLauncher }),
		wantArgs: []string{"bundle", "exec", "puma"},
	}, {
		name:    "an unclean launcher an older webhook let in is refused at spec.appRef",
		app:     newApp(func(a *v1alpha1.App) { a.Spec.Launcher = "/cnb//lifecycle/launcher" }),
		command: "rake",
		wantCmd: []string{"/cnb//lifecycle/launcher", "rake"},
		errs: []string{`spec.appRef: Invalid value: App shop: spec.launcher: Invalid value: "/cnb//lifecycle/launcher": ` +
			"must be a clean path, without //, /./, /../ or a trailing /; use /cnb/lifecycle/launcher"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ResolveTask(tc.app, newTask(func(s *v1alpha1.TaskSpec) { s.Command = tc.command }), nil)
			if !slices.Equal(r.Resolved.Command, tc.wantCmd) || !slices.Equal(r.Resolved.Args, tc.wantArgs) {
				t.Errorf("command %q args %q, want %q %q", r.Resolved.Command, r.Resolved.Args, tc.wantCmd, tc.wantArgs)
			}
			if !slices.Equal(r.Warnings, tc.warnings) {
				t.Errorf("warnings = %q, want %q", r.Warnings, tc.warnings)
			}
			var errs []string
			for _, e := range r.Errors {
				errs = append(errs, e.Error())
			}
			if !slices.Equal(errs, tc.errs) {
				t.Errorf("errors = %q, want %q", errs, tc.errs)
			}
		})
	}
}

func TestValidateLauncher(t *testing.T) {
	p := field.NewPath("spec", "launcher")
	for _, tc := range []struct {
		launcher string
		want     string // the one error, or "" for none
	}{
		{"", ""},
		{cnbLauncher, ""},
		{"/launcher", ""},
		{"cnb/lifecycle/launcher", `spec.launcher: Invalid value: "cnb/lifecycle/launcher": must be an absolute path in the image, for example /cnb/lifecycle/launcher`},
		{"/", `spec.launcher: Invalid value: "/": must name a file in the image, not /; for example /cnb/lifecycle/launcher`},
		{"/cnb/lifecycle/", `spec.launcher: Invalid value: "/cnb/lifecycle/": must be a clean path, without //, /./, /../ or a trailing /; use /cnb/lifecycle`},
		{"/cnb/./lifecycle/launcher", `spec.launcher: Invalid value: "/cnb/./lifecycle/launcher": must be a clean path, without //, /./, /../ or a trailing /; use /cnb/lifecycle/launcher`},
		{"/cnb/../bin/sh", `spec.launcher: Invalid value: "/cnb/../bin/sh": must be a clean path, without //, /./, /../ or a trailing /; use /bin/sh`},
		{"/cnb/\x00launcher", `spec.launcher: Invalid value: "/cnb/\x00launcher": must not contain a NUL character`},
	} {
		errs := ValidateLauncher(tc.launcher, p)
		got := ""
		if len(errs) > 1 {
			t.Errorf("ValidateLauncher(%q) = %v, want at most one error", tc.launcher, errs)
		} else if len(errs) == 1 {
			got = errs[0].Error()
		}
		if got != tc.want {
			t.Errorf("ValidateLauncher(%q) = %q, want %q", tc.launcher, got, tc.want)
		}
	}
}

// A Job labelled with the App keeps its own command: the launcher is for a
// Task's spec.command only, so an App's launcher changes no patch.
func TestJobInjectionIgnoresLauncher(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "main", Image: testImage, Command: []string{"bundle", "exec", "rake", "db:migrate"},
	}}}}
	without := JobInjection(jobApp(), tmpl.DeepCopy(), "/spec/template")
	app := jobApp()
	app.Spec.Launcher = cnbLauncher
	with := JobInjection(app, tmpl.DeepCopy(), "/spec/template")
	if !reflect.DeepEqual(with, without) {
		t.Errorf("patch with a launcher:\n%v\nwithout:\n%v", with, without)
	}
	for _, op := range with {
		if strings.HasSuffix(op.Path, "/command") || strings.HasSuffix(op.Path, "/args") {
			t.Errorf("patch %s %s touches the Job's command", op.Operation, op.Path)
		}
	}
	if len(with) == 0 {
		t.Error("no patch at all; want the App's configuration injected")
	}
}
