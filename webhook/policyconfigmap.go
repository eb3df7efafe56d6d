package webhook

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/jobadmission"
	"github.com/taskgate/taskgate/policy"
)

// PolicyConfigMapValidator rejects a bad policy ConfigMap at kubectl apply
// time, with the same field errors the manager would log on reload.
type PolicyConfigMapValidator struct {
	// Namespace and Name locate the policy ConfigMap; others are allowed
	// untouched (matchConditions should keep them from ever arriving).
	Namespace, Name string
	// JobAdmission is true when kube-apiserver's admission policies set
	// new Jobs' TTLs: the policy must then also fit their parameters.
	JobAdmission bool
}

var _ admission.Validator[*corev1.ConfigMap] = &PolicyConfigMapValidator{}

// ValidateCreate checks a new policy ConfigMap.
func (v *PolicyConfigMapValidator) ValidateCreate(_ context.Context, cm *corev1.ConfigMap) (admission.Warnings, error) {
	return nil, v.validate(cm)
}

// ValidateUpdate checks a changed policy ConfigMap.
func (v *PolicyConfigMapValidator) ValidateUpdate(_ context.Context, _, cm *corev1.ConfigMap) (admission.Warnings, error) {
	return nil, v.validate(cm)
}

// ValidateDelete allows deletion: the documented defaults then apply.
func (v *PolicyConfigMapValidator) ValidateDelete(context.Context, *corev1.ConfigMap) (admission.Warnings, error) {
	return nil, nil
}

func (v *PolicyConfigMapValidator) validate(cm *corev1.ConfigMap) error {
	if cm.Namespace != v.Namespace || cm.Name != v.Name {
		return nil
	}
	p, errs := policy.FromConfigMap(cm)
	if len(errs) == 0 && v.JobAdmission {
		p.ManagerNamespace = v.Namespace // exempt, and one of the params' namespaces
		_, errs = jobadmission.Params(p)
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, cm.Name, errs)
}
