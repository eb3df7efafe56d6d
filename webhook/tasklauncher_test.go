package webhook

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/imageinspect"
	"github.com/taskgate/taskgate/inherit"
)

// stubImages answers for images by name and records what it was asked.
type stubImages struct {
	launchers map[string]string
	err       error
	asked     []string
}

func (s *stubImages) Launcher(_ context.Context, ref name.Reference, secrets []corev1.Secret) (string, error) {
	asked := ref.String()
	for _, sec := range secrets {
		asked += " with " + sec.Name
	}
	s.asked = append(s.asked, asked)
	return s.launchers[ref.String()], s.err
}

// pullSecrets returns a Secret of each name but "missing", or err.
func pullSecrets(err error) PullSecrets {
	return func(_ context.Context, ns string, names []corev1.LocalObjectReference) ([]corev1.Secret, error) {
		if err != nil {
			return nil, err
		}
		var out []corev1.Secret
		for _, n := range names {
			if n.Name != "missing" {
				out = append(out, corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n.Name}})
			}
		}
		return out, nil
	}
}

const detectionPolicy = `apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  launcherDetection:
    registries: [ghcr.io]
`

func TestTaskDefaulterDetectsLauncher(t *testing.T) {
	const command = "bundle exec rake db:migrate"
	images := map[string]string{"ghcr.io/shop/cnb:1": imageinspect.CNBLauncher, "ghcr.io/shop/plain:1": ""}
	shell := []string{"/bin/sh", "-c", command}
	tests := []struct {
		name       string
		policy     string
		image      string
		launcher   string // the App's spec.launcher
		command    string // the Task's; default command
		appCommand []string
		secrets    []string // the App's imagePullSecrets
		secretsErr error
		err        error
		want       []string
		warning    string
		warnings   []string // when more than warning
		asked      []string
	}{
		{name: "detected from the labels", image: "ghcr.io/shop/cnb:1",
			want: []string{imageinspect.CNBLauncher, command}, warning: inherit.WarningLauncherDetected, asked: []string{"ghcr.io/shop/cnb:1"}},
		{name: "not a buildpack image", image: "ghcr.io/shop/plain:1", want: shell, asked: []string{"ghcr.io/shop/plain:1"}},
		{name: "the App's launcher wins, unread", image: "ghcr.io/shop/cnb:1", launcher: "/opt/launch",
			want: []string{"/opt/launch", command}},
		{name: "detection off by default: nothing read or said", policy: "apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n",
			image: "ghcr.io/shop/cnb:1", want: shell},
		{name: "registry not listed: not read", image: "registry.example.com/shop/cnb:1",
			want: shell, warning: inherit.WarningLauncherRegistryNotListed},
		{name: "not a reference", image: "ghcr.io/Shop/cnb:1", want: shell, warning: inherit.WarningLauncherInvalidImage},
		{name: "read failed", image: "ghcr.io/shop/cnb:1", err: errors.New("dial tcp: connection refused"),
			want: shell, warning: "/bin/sh -c runs spec.command: image labels unread: the config could not be read; a CNB image needs App spec.launcher",
			asked: []string{"ghcr.io/shop/cnb:1"}},
		{name: "no Task command: the App's args run, unread", image: "ghcr.io/shop/cnb:1", command: "-", want: nil},
		{name: "with the App's pull Secrets", image: "ghcr.io/shop/cnb:1", secrets: []string{"registry", "missing", "mirror"},
			want: []string{imageinspect.CNBLauncher, command}, warning: inherit.WarningLauncherDetected,
			asked: []string{"ghcr.io/shop/cnb:1 with registry with mirror"}},
		{name: "pull Secrets unread", image: "ghcr.io/shop/cnb:1", secrets: []string{"registry"}, secretsErr: errors.New("forbidden"),
			want: shell, warning: "/bin/sh -c runs spec.command: image labels unread: pull Secrets unreadable; a CNB image needs App spec.launcher"},
		{name: "detected, replacing the App's entrypoint", image: "ghcr.io/shop/cnb:1", appCommand: []string{"/cnb/process/web"},
			want: []string{imageinspect.CNBLauncher, command}, asked: []string{"ghcr.io/shop/cnb:1"},
			warnings: []string{
				"spec.command runs through the image's launcher; the App's command (entrypoint) and args are not used",
				inherit.WarningLauncherDetected,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := detectionPolicy
			if tt.policy != "" {
				doc = tt.policy
			}
			app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "u1"}}
			app.Spec.Image, app.Spec.Launcher, app.Spec.Args = tt.image, tt.launcher, []string{"serve"}
			app.Spec.Command = tt.appCommand
			for _, n := range tt.secrets {
				app.Spec.ImagePullSecrets = append(app.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
			}
			stub := &stubImages{launchers: images, err: tt.err}
			pol := fixedPolicy{loadPolicy(t, doc)}
			apps := func(context.Context, string, string) (*v1alpha1.App, error) { return app, nil }
			nsLabels := func(context.Context, string) (map[string]string, error) { return nil, nil }
			h := &TaskDefaulter{Policy: pol, Apps: apps, Namespaces: nsLabels, Images: stub, PullSecrets: pullSecrets(tt.secretsErr)}
			task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate"}}
			task.Spec.AppRef.Name, task.Spec.Command = "web", command
			if tt.command == "-" {
				task.Spec.Command = ""
			}
			warnings, err := h.Default(context.Background(), task)
			if err != nil {
				t.Fatalf("Default() = %v", err)
			}
			if got := task.Spec.Resolved.Command; !slices.Equal(got, tt.want) {
				t.Errorf("resolved command = %q, want %q", got, tt.want)
			}
			want := tt.warnings
			if tt.warning != "" {
				want = []string{tt.warning}
			}
			if !slices.Equal(warnings, want) {
				t.Errorf("warnings = %q, want %q", warnings, want)
			}
			if !slices.Equal(stub.asked, tt.asked) {
				t.Errorf("images read = %q, want %q", stub.asked, tt.asked)
			}
			for _, w := range warnings {
				if len(w) >= 120 {
					t.Errorf("warning of %d characters: %q", len(w), w)
				}
			}

			// The validator admits what the defaulter resolved, without
			// reading the image again.
			v := &TaskValidator{Policy: pol, Apps: apps}
			if _, err := v.ValidateCreate(context.Background(), task); err != nil {
				t.Errorf("ValidateCreate() = %v", err)
			}
		})
	}
}

// TestTaskValidatorLauncher: the validator accepts the CNB launcher only
// where detection could have put it, and no other launcher.
func TestTaskValidatorLauncher(t *testing.T) {
	const command = "rake db:migrate"
	tests := []struct {
		name     string
		launcher string // the App's
		resolved []string
		ok       bool
	}{
		{"shell", "", []string{"/bin/sh", "-c", command}, true},
		{"detected CNB launcher", "", []string{imageinspect.CNBLauncher, command}, true},
		{"another launcher", "", []string{"/tmp/evil", command}, false},
		{"the App's launcher", "/opt/launch", []string{"/opt/launch", command}, true},
		{"the CNB launcher past the App's", "/opt/launch", []string{imageinspect.CNBLauncher, command}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
			app.Spec.Image, app.Spec.Launcher = "ghcr.io/shop/cnb:1", tt.launcher
			pol := fixedPolicy{loadPolicy(t, detectionPolicy)}
			task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate"}}
			task.Spec.AppRef.Name, task.Spec.Command = "web", command
			task.Spec.Resolved = inherit.ResolveTask(app, task, pol.p).Resolved
			task.Spec.Resolved.Command = tt.resolved
			v := &TaskValidator{Policy: pol, Apps: func(context.Context, string, string) (*v1alpha1.App, error) { return app, nil }}
			_, err := v.ValidateCreate(context.Background(), task)
			if (err == nil) != tt.ok {
				t.Errorf("ValidateCreate() = %v, want allowed %t", err, tt.ok)
			}
		})
	}
}
