package policy

import (
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// LauncherDetectionOutcome says whether the manager may read an image's
// labels, and if not, why.
type LauncherDetectionOutcome string

const (
	// DetectionOff: tasks.launcherDetection lists no registry, the
	// default, so no image is read and nothing is reported.
	DetectionOff LauncherDetectionOutcome = "Off"
	// DetectionAllowed: the image's registry is listed.
	DetectionAllowed LauncherDetectionOutcome = "Allowed"
	// DetectionRegistryNotListed: detection is on, but not for the
	// image's registry.
	DetectionRegistryNotListed LauncherDetectionOutcome = "RegistryNotListed"
	// DetectionInvalidImage: the image is not a reference a registry
	// could be asked about.
	DetectionInvalidImage LauncherDetectionOutcome = "InvalidImage"
)

// LauncherDetectionDecision is whether, and where, the manager may read
// an image's config.
type LauncherDetectionDecision struct {
	Outcome LauncherDetectionOutcome
	// Registry is the image's registry as go-containerregistry names it
	// (index.docker.io for Docker Hub); empty for Off and InvalidImage.
	Registry string
	// Reference is the image to read; nil unless Allowed.
	Reference name.Reference
}

// LauncherDetection decides whether the manager may read the config of
// image, an App's spec.image, to find its launcher. Reading is a request
// from the manager to a host the App's author chose, so only the
// registries tasks.launcherDetection.registries lists, by exact host and
// port, may be read; a reference that does not parse is never read.
func (p *Policy) LauncherDetection(image string) LauncherDetectionDecision {
	registries := p.Tasks.LauncherDetection.Registries
	if len(registries) == 0 {
		return LauncherDetectionDecision{Outcome: DetectionOff}
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return LauncherDetectionDecision{Outcome: DetectionInvalidImage}
	}
	// Host names are case-insensitive; the policy's are lowercase.
	registry := strings.ToLower(ref.Context().RegistryStr())
	for _, r := range registries {
		if normalRegistry(r) == registry {
			return LauncherDetectionDecision{Outcome: DetectionAllowed, Registry: registry, Reference: ref}
		}
	}
	return LauncherDetectionDecision{Outcome: DetectionRegistryNotListed, Registry: registry}
}

// normalRegistry is a policy entry as a parsed reference names its
// registry: docker.io is index.docker.io.
func normalRegistry(r string) string {
	reg, err := name.NewRegistry(r, name.StrictValidation)
	if err != nil {
		return "" // Validate refuses it; it matches nothing
	}
	return reg.RegistryStr()
}

func validateLauncherDetection(d *LauncherDetectionPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	regPath := fldPath.Child("registries")
	for i, r := range d.Registries {
		p := regPath.Index(i)
		switch {
		case r == "":
			errs = append(errs, field.Required(p, "a registry host such as ghcr.io or registry.example.com:5000"))
		case strings.ContainsAny(r, "*?"):
			errs = append(errs, field.Invalid(p, r,
				"must be an exact host or host:port; wildcards are not supported, so list each registry the manager may read"))
		case strings.Contains(r, "/") || normalRegistry(r) == "" || !validPort(r):
			errs = append(errs, field.Invalid(p, r,
				"must be a host or host:port, without a scheme or path, for example ghcr.io or registry.example.com:5000"))
		case r != strings.ToLower(r):
			errs = append(errs, field.Invalid(p, r, "must be lowercase: use "+strings.ToLower(r)))
		case seen.Has(normalRegistry(r)):
			errs = append(errs, field.Duplicate(p, r))
		}
		seen.Insert(normalRegistry(r))
	}
	return errs
}

// validPort reports whether r's port, if it has one, is a port number.
func validPort(r string) bool {
	i := strings.LastIndex(r, ":")
	if i < 0 || strings.HasSuffix(r, "]") { // no port, or a bare [IPv6]
		return true
	}
	port, err := strconv.Atoi(r[i+1:])
	return err == nil && port > 0 && port <= 65535
}
