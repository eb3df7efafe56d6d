package webhook

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/binding"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/inherit"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/workload"
)

// AppValidator checks Apps on create and update: what the CRD schema
// cannot, such as a well-formed image reference and the privileges cluster
// policy allows.
type AppValidator struct {
	Policy facts.PolicySource
	// Access reviews what the sender may do; nil skips the review.
	Access access.Reviewer
	// Namespaces gives the App's namespace labels, which policy matches
	// security-group bindings against; nil matches none by label.
	Namespaces facts.NamespaceLabels
	// Secrets reads a bound Secret, uncached, to find a binding's type
	// when the binding does not set one; nil skips that check.
	Secrets client.Reader
	// Workloads reads the container spec.from names, to check it now;
	// nil skips that check (Tasks still check it).
	Workloads Workloads
}

var _ admission.Validator[*v1alpha1.App] = &AppValidator{}

// ValidateCreate checks a new App, and that its sender may create pods and
// read the Secrets it binds.
func (v *AppValidator) ValidateCreate(ctx context.Context, app *v1alpha1.App) (admission.Warnings, error) {
	return v.validate(ctx, app, true)
}

// ValidateUpdate checks a changed App. Tasks already created keep the
// configuration they were admitted with. Any change of spec is reviewed as
// a create, every binding included, not only new ones: a new image or
// command would read the Secrets already bound. A change of metadata or
// status alone (labels, finalizers) is not reviewed.
func (v *AppValidator) ValidateUpdate(ctx context.Context, old, app *v1alpha1.App) (admission.Warnings, error) {
	return v.validate(ctx, app, !equality.Semantic.DeepEqual(old.Spec, app.Spec))
}

// ValidateDelete allows every delete.
func (v *AppValidator) ValidateDelete(context.Context, *v1alpha1.App) (admission.Warnings, error) {
	return nil, nil
}

func (v *AppValidator) validate(ctx context.Context, app *v1alpha1.App, review bool) (admission.Warnings, error) {
	nsLabels, err := v.Namespaces.Get(ctx, app.Namespace)
	if err != nil {
		return nil, err
	}
	var forbidden field.ErrorList
	if review {
		var err error
		if forbidden, err = senderLacks(ctx, v.Access, access.AppNeeds(app)); err != nil {
			return nil, err
		}
	}
	// Only a sender who may read the workload and every bound Secret
	// learns, from the answer, what they hold. An unchanged spec is not
	// checked again: a workload changed since must not block a label.
	allowed := review && len(forbidden) == 0
	var (
		w    *workload.Container
		werr *field.Error
	)
	if allowed {
		var err error
		if w, werr, err = v.Workloads.read(ctx, app); err != nil {
			return nil, err
		}
	}
	errs, warnings := ValidateApp(app, w, v.Policy.Current(), nsLabels)
	switch {
	case werr != nil && werr.Type == field.ErrorTypeNotFound && werr.Field == specPath.Child("from", "name").String():
		// The App may come first, as with a bound Secret: its Tasks are
		// refused until the workload exists.
		warnings = append(warnings, fmt.Sprintf("%s does not exist yet: Tasks of this App are refused until it does", workload.Name(*app.Spec.From)))
	case werr != nil:
		errs = append(errs, werr)
	}
	errs = append(errs, forbidden...)
	if allowed {
		typeErrs, err := v.bindingTypes(ctx, app)
		if err != nil {
			return warnings, err
		}
		errs = append(errs, typeErrs...)
	}
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("App").GroupKind(), app.Name, errs)
	}
	return warnings, nil
}

// bindingTypes refuses a binding that gets no servicebinding.io type from
// its Secret nor its own type field. A binding whose Secret does not exist
// yet is not refused: the App may come first, and the App's Ready
// condition says the Secret is missing.
func (v *AppValidator) bindingTypes(ctx context.Context, app *v1alpha1.App) (field.ErrorList, error) {
	if v.Secrets == nil {
		return nil, nil
	}
	var errs field.ErrorList
	for i := range app.Spec.ServiceBindings {
		b := &app.Spec.ServiceBindings[i]
		if b.Type != "" {
			continue
		}
		secret := &corev1.Secret{}
		err := v.Secrets.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: b.SecretName}, secret)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading Secret %s of binding %s: %w", b.SecretName, b.Name, err)
		}
		if ferr := binding.ValidateType(b, secret, specPath.Child("serviceBindings").Index(i)); ferr != nil {
			errs = append(errs, ferr)
		}
	}
	return errs, nil
}

// senderLacks returns, as field errors, the needs the admission request's
// sender is not allowed; none when r is nil.
func senderLacks(ctx context.Context, r access.Reviewer, needs []access.Need) (field.ErrorList, error) {
	if r == nil || len(needs) == 0 {
		return nil, nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding the request's sender: %w", err)
	}
	requester := access.Requester(req.UserInfo)
	missing, err := r.Missing(ctx, requester, needs)
	if err != nil {
		return nil, err
	}
	return access.Forbidden(requester, missing), nil
}

// ValidateApp returns what is wrong with an App under a policy, in a
// namespace with these labels, and the warnings audit mode turns policy
// refusals into. w is the container spec.from names, nil when it has none
// or it was not read.
func ValidateApp(app *v1alpha1.App, w *workload.Container, p *policy.Policy, nsLabels map[string]string) (field.ErrorList, []string) {
	var errs field.ErrorList
	if _, err := reference.ParseNormalizedNamed(app.Spec.Image); err != nil && (app.Spec.Image != "" || app.Spec.From == nil) {
		errs = append(errs, field.Invalid(specPath.Child("image"), app.Spec.Image,
			fmt.Sprintf("not a valid image reference (%v); use a form such as registry.example.com/team/app:v1 or ...@sha256:<digest>", err)))
	}
	_, _, volumeErrs := inherit.WorkloadVolumes(w, p)
	errs = append(errs, volumeErrs...)
	errs = append(errs, inherit.ValidateLauncher(app.Spec.Launcher, specPath.Child("launcher"))...)
	var uses []policy.PrivilegedUse
	uses = append(uses, policy.SecurityContextUses(app.Spec.SecurityContext, specPath.Child("securityContext"))...)
	policyErrs, warnings := p.ValidatePrivileges(uses)
	errs = append(errs, policyErrs...)
	psErrs, psWarnings := inherit.ValidateAppPodSecurityFrom(app, w, p, nsLabels)
	errs, warnings = append(errs, psErrs...), append(warnings, psWarnings...)
	sgErrs, sgWarnings := p.ValidateSecurityGroups(app.Spec.SecurityGroups, app.Namespace, nsLabels, specPath.Child("securityGroups"))
	return append(errs, sgErrs...), append(warnings, sgWarnings...)
}
