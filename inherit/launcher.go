package inherit

import (
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/message"
)

// WarningCommandReplacesEntrypointLauncher is WarningCommandReplacesEntrypoint
// for an App with spec.launcher; the path is left out to keep it short.
const WarningCommandReplacesEntrypointLauncher = "spec.command runs through the App's spec.launcher; the App's command (entrypoint) and args are not used"

// Warnings of a Task whose launcher was looked for in its App's image
// labels (policy tasks.launcherDetection).
const (
	// WarningLauncherDetected: the labels show a buildpack (CNB) image,
	// whose launcher is /cnb/lifecycle/launcher.
	WarningLauncherDetected = "spec.command runs through /cnb/lifecycle/launcher, as the image's labels show a buildpack (CNB) image"
	// WarningLauncherRegistryNotListed: detection is on, but not for the
	// registry of the App's image.
	WarningLauncherRegistryNotListed = "/bin/sh -c runs spec.command: the image's registry is not in policy tasks.launcherDetection; or set App spec.launcher"
	// WarningLauncherInvalidImage: the App's image cannot be looked up.
	WarningLauncherInvalidImage = "/bin/sh -c runs spec.command: App spec.image is not a valid image reference, so its labels were not read"
)

// WarningCommandReplacesEntrypointDetected is
// WarningCommandReplacesEntrypointLauncher for a launcher detected from
// the image's labels, which the App does not name.
const WarningCommandReplacesEntrypointDetected = "spec.command runs through the image's launcher; the App's command (entrypoint) and args are not used"

// DetectedLauncherWarnings returns the warnings ResolveTask gave for an App
// given a launcher found in its image's labels (WithLauncher), speaking of
// the image's launcher rather than the App's spec.launcher.
func DetectedLauncherWarnings(warnings []string) []string {
	out := make([]string, len(warnings))
	for i, w := range warnings {
		if w == WarningCommandReplacesEntrypointLauncher {
			w = WarningCommandReplacesEntrypointDetected
		}
		out[i] = w
	}
	return out
}

// WarningLauncherNotRead is the warning of a Task whose App's image labels
// could not be read, for reason, a few words (imageinspect.Reason).
func WarningLauncherNotRead(reason string) string {
	return message.Warning("/bin/sh -c runs spec.command: image labels unread: " + reason + "; a CNB image needs App spec.launcher")
}

// DetectsLauncher reports whether a Task's command runs through a launcher
// found in its App's image labels, when policy lets them be read: the Task
// has a command and the App names no launcher, which would always win.
func DetectsLauncher(app *v1alpha1.App, task *v1alpha1.Task) bool {
	return task.Spec.Command != "" && app.Spec.Launcher == ""
}

// WithLauncher returns a copy of app whose spec.launcher is launcher, the
// one its image's labels name, for ResolveTask to run a Task through.
func WithLauncher(app *v1alpha1.App, launcher string) *v1alpha1.App {
	out := app.DeepCopy()
	out.Spec.Launcher = launcher
	return out
}

// TaskCommand is the container command that runs a Task's command: the
// App's launcher with the command as its one argument, as Cloud Foundry
// and Korifi run a task through /cnb/lifecycle/launcher, or /bin/sh -c
// <command> without one. Either way the container gets no args, so the
// image's ENTRYPOINT and the App's command and args do not run.
func TaskCommand(launcher, command string) []string {
	if launcher == "" {
		return []string{shell, shellFlag, command}
	}
	return []string{launcher, command}
}

// ValidateLauncher checks an App's spec.launcher beyond what the CRD
// schema does (an absolute path of at most 4096 characters): it must be a
// clean path to a file, so that what runs is what the App shows.
func ValidateLauncher(launcher string, fldPath *field.Path) field.ErrorList {
	if launcher == "" {
		return nil
	}
	if !strings.HasPrefix(launcher, "/") {
		return field.ErrorList{field.Invalid(fldPath, launcher,
			"must be an absolute path in the image, for example /cnb/lifecycle/launcher")}
	}
	if strings.ContainsRune(launcher, 0) {
		return field.ErrorList{field.Invalid(fldPath, launcher, "must not contain a NUL character")}
	}
	if clean := path.Clean(launcher); clean != launcher || clean == "/" {
		if clean == "/" {
			return field.ErrorList{field.Invalid(fldPath, launcher,
				"must name a file in the image, not /; for example /cnb/lifecycle/launcher")}
		}
		return field.ErrorList{field.Invalid(fldPath, launcher,
			"must be a clean path, without //, /./, /../ or a trailing /; use "+clean)}
	}
	return nil
}
