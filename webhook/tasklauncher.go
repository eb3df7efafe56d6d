package webhook

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/imageinspect"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

// ImageLaunchers finds the launcher of an image from its config labels,
// with the credentials of pull Secrets; *imageinspect.Inspector is one.
type ImageLaunchers interface {
	Launcher(ctx context.Context, ref name.Reference, pullSecrets []corev1.Secret) (string, error)
}

// PullSecrets returns the named Secrets of a namespace, leaving out those
// that do not exist, as the kubelet does.
type PullSecrets func(ctx context.Context, namespace string, names []corev1.LocalObjectReference) ([]corev1.Secret, error)

// ReadPullSecrets reads pull Secrets through r. The manager passes its
// API reader: it does not cache Secrets.
func ReadPullSecrets(r client.Reader) PullSecrets {
	return func(ctx context.Context, namespace string, names []corev1.LocalObjectReference) ([]corev1.Secret, error) {
		var out []corev1.Secret
		for _, n := range names {
			s := corev1.Secret{}
			err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: n.Name}, &s)
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil:
				return nil, fmt.Errorf("reading pull Secret %s/%s: %w", namespace, n.Name, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
}

// warningPullSecretsUnread is the reason given when the App's pull
// Secrets could not be read.
const warningPullSecretsUnread = "pull Secrets unreadable"

// taskLauncher returns the launcher found in the labels of the App's
// image, if any, and the warning that says what was decided. Only an App
// that names no launcher, of a Task with a command, is looked up, and only
// in a registry policy lists: reading one is the manager's request to a
// host the App's author chose. The App's imagePullSecrets lend their
// logins for that registry, which its pods pull with anyway. It runs
// before the Task exists, so a Task created right after its App gets the
// same answer as any later one.
func (h *TaskDefaulter) taskLauncher(ctx context.Context, p *policy.Policy, app *v1alpha1.App, task *v1alpha1.Task) (string, string) {
	if h.Images == nil || !inherit.DetectsLauncher(app, task) {
		return "", ""
	}
	d := p.LauncherDetection(app.Spec.Image)
	switch d.Outcome {
	case policy.DetectionOff:
		return "", ""
	case policy.DetectionInvalidImage:
		return "", inherit.WarningLauncherInvalidImage
	case policy.DetectionRegistryNotListed:
		return "", inherit.WarningLauncherRegistryNotListed
	}
	log := logf.FromContext(ctx)
	var secrets []corev1.Secret
	if len(app.Spec.ImagePullSecrets) > 0 && h.PullSecrets != nil {
		var err error
		if secrets, err = h.PullSecrets(ctx, app.Namespace, app.Spec.ImagePullSecrets); err != nil {
			log.Info("Reading the pull Secrets of an App failed; its Task runs with /bin/sh -c",
				"App", klog.KObj(app), "err", err)
			return "", inherit.WarningLauncherNotRead(warningPullSecretsUnread)
		}
	}
	launcher, err := h.Images.Launcher(ctx, d.Reference, secrets)
	if err != nil {
		log.Info("Reading the image labels of an App failed; its Task runs with /bin/sh -c",
			"App", klog.KObj(app), "image", app.Spec.Image, "err", err)
		return "", inherit.WarningLauncherNotRead(imageinspect.Reason(err))
	}
	if launcher != imageinspect.CNBLauncher {
		return "", "" // not a buildpack image: /bin/sh -c is right
	}
	return launcher, inherit.WarningLauncherDetected
}

// resolvedWithDetectedLauncher reports whether a Task's spec.resolved is
// what ResolveTask gives with the launcher TaskDefaulter may have found in
// the image's labels. The validator accepts it without reading the
// registry again: running the image's own launcher grants nothing the
// Task's command could not do under /bin/sh -c.
func resolvedWithDetectedLauncher(app *v1alpha1.App, w *workload.Container, task *v1alpha1.Task, p *policy.Policy, ns inherit.Namespace) bool {
	if !inherit.DetectsLauncher(app, task) {
		return false
	}
	res := inherit.ResolveTaskFrom(inherit.WithLauncher(app, imageinspect.CNBLauncher), w, task, p, ns)
	return len(res.Errors) == 0 && inherit.Equal(task.Spec.Resolved, res.Resolved)
}
