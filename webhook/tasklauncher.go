package webhook

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/klog/v2"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/imageinspect"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
)

// ImageLaunchers finds the launcher of an image from its config labels;
// *imageinspect.Inspector is one.
type ImageLaunchers interface {
	Launcher(ctx context.Context, ref name.Reference) (string, error)
}

// taskLauncher returns the launcher found in the labels of the App's
// image, if any, and the warning that says what was decided. Only an App
// that names no launcher, of a Task with a command, is looked up, and only
// in a registry policy lists: reading one is the manager's request to a
// host the App's author chose. It runs before the Task exists, so a Task
// created right after its App gets the same answer as any later one.
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
	launcher, err := h.Images.Launcher(ctx, d.Reference)
	if err != nil {
		logf.FromContext(ctx).Info("Reading the image labels of an App failed; its Task runs with /bin/sh -c",
			"app", klog.KObj(app), "image", app.Spec.Image, "err", err)
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
func resolvedWithDetectedLauncher(app *v1alpha1.App, task *v1alpha1.Task, p *policy.Policy, nsLabels map[string]string) bool {
	if !inherit.DetectsLauncher(app, task) {
		return false
	}
	res := inherit.ResolveTaskIn(inherit.WithLauncher(app, imageinspect.CNBLauncher), task, p, nsLabels)
	return len(res.Errors) == 0 && inherit.Equal(task.Spec.Resolved, res.Resolved)
}
