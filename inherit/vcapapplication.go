package inherit

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// EnvVCAPApplication describes the running app to Cloud Foundry code.
const EnvVCAPApplication = "VCAP_APPLICATION"

// defaultFDs is the file descriptor limit VCAP_APPLICATION reports:
// Cloud Foundry's default for an app. Kubernetes sets none per container,
// so this is what a CF app expects rather than a limit taskgate enforces.
const defaultFDs = 16384

// VCAPApplication is the VCAP_APPLICATION document of one Task: the fields
// a Cloud Foundry task sees that have a Kubernetes counterpart, and those
// Kf sets (uris). A space is a namespace, as in Kf: space_name is its name
// and space_id its UID, which, like a space's GUID, is not reused when a
// namespace of the same name is created again. organization_name and
// organization_id are left out because Kubernetes has no organizations (Kf
// leaves them out too). There are no routes for tasks, so the URI lists
// are empty, as for a CF task of an app without routes.
type VCAPApplication struct {
	ApplicationID   string   `json:"application_id"`
	ApplicationName string   `json:"application_name"`
	ApplicationURIs []string `json:"application_uris"`
	Limits          Limits   `json:"limits"`
	Name            string   `json:"name"`
	// SpaceID is empty only where the namespace's UID is not known, as
	// when the reconciler resolves a Task again to compare its security
	// settings, which do not include the env.
	SpaceID   string   `json:"space_id,omitempty"`
	SpaceName string   `json:"space_name"`
	URIs      []string `json:"uris"`
}

// Limits are the Task's limits in Cloud Foundry's units: memory and disk
// (ephemeral-storage) in MiB, rounded up, each the limit, else the request,
// else 0.
type Limits struct {
	Mem  int64 `json:"mem"`
	Disk int64 `json:"disk"`
	FDs  int64 `json:"fds"`
}

// NewVCAPApplication returns the VCAP_APPLICATION of a Task of app, in the
// namespace whose UID is spaceID, whose container has resources.
// application_id is the App's UID, which stays the same for the App's life
// as a CF app's GUID does.
func NewVCAPApplication(app *v1alpha1.App, spaceID types.UID, resources *corev1.ResourceRequirements) VCAPApplication {
	return VCAPApplication{
		ApplicationID:   string(app.UID),
		ApplicationName: app.Name,
		ApplicationURIs: []string{},
		Limits: Limits{
			Mem:  mebibytes(resources, corev1.ResourceMemory),
			Disk: mebibytes(resources, corev1.ResourceEphemeralStorage),
			FDs:  defaultFDs,
		},
		Name:      app.Name,
		SpaceID:   string(spaceID),
		SpaceName: app.Namespace,
		URIs:      []string{},
	}
}

// VCAPApplicationEnv is the VCAP_APPLICATION variable of a Task's pod. It
// is a literal value: everything in it is readable by whoever may read
// the App or the Task.
func VCAPApplicationEnv(app *v1alpha1.App, spaceID types.UID, resources *corev1.ResourceRequirements) corev1.EnvVar {
	doc, _ := json.Marshal(NewVCAPApplication(app, spaceID, resources)) // only strings, slices and ints: it cannot fail
	return corev1.EnvVar{Name: EnvVCAPApplication, Value: string(doc)}
}

func mebibytes(r *corev1.ResourceRequirements, name corev1.ResourceName) int64 {
	q, ok := r.Limits[name]
	if !ok {
		if q, ok = r.Requests[name]; !ok {
			return 0
		}
	}
	const mib = 1 << 20
	return (q.Value() + mib - 1) / mib
}
