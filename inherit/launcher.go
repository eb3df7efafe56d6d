package inherit

import (
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// WarningCommandReplacesEntrypointLauncher is WarningCommandReplacesEntrypoint
// for an App with spec.launcher; the path is left out to keep it short.
const WarningCommandReplacesEntrypointLauncher = "spec.command runs through the App's spec.launcher; the App's command (entrypoint) and args are not used"

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
