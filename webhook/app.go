package webhook

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// AppValidator checks Apps on create and update: what the CRD schema
// cannot, such as a well-formed image reference and the privileges cluster
// policy allows.
type AppValidator struct {
	Policy PolicySource
}

var _ admission.Validator[*v1alpha1.App] = &AppValidator{}

// ValidateCreate checks a new App.
func (v *AppValidator) ValidateCreate(_ context.Context, app *v1alpha1.App) (admission.Warnings, error) {
	return v.validate(app)
}

// ValidateUpdate checks a changed App. Tasks already created keep the
// configuration they were admitted with.
func (v *AppValidator) ValidateUpdate(_ context.Context, _, app *v1alpha1.App) (admission.Warnings, error) {
	return v.validate(app)
}

// ValidateDelete allows every delete.
func (v *AppValidator) ValidateDelete(context.Context, *v1alpha1.App) (admission.Warnings, error) {
	return nil, nil
}

func (v *AppValidator) validate(app *v1alpha1.App) (admission.Warnings, error) {
	errs, warnings := ValidateApp(app, v.Policy.Current())
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("App").GroupKind(), app.Name, errs)
	}
	return warnings, nil
}

// ValidateApp returns what is wrong with an App under a policy, and the
// warnings audit mode turns policy refusals into.
func ValidateApp(app *v1alpha1.App, p *policy.Policy) (field.ErrorList, []string) {
	var errs field.ErrorList
	if _, err := reference.ParseNormalizedNamed(app.Spec.Image); err != nil {
		errs = append(errs, field.Invalid(specPath.Child("image"), app.Spec.Image,
			fmt.Sprintf("not a valid image reference (%v); use a form such as registry.example.com/team/app:v1 or ...@sha256:<digest>", err)))
	}
	var uses []policy.PrivilegedUse
	uses = append(uses, policy.SecurityContextUses(app.Spec.SecurityContext, specPath.Child("securityContext"))...)
	policyErrs, warnings := p.ValidatePrivileges(uses)
	return append(errs, policyErrs...), warnings
}
