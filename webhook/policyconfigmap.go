package webhook

import (
	"context"
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/policy"
)

// PolicyConfigMapValidator rejects a bad policy ConfigMap at kubectl apply
// time, with the same field errors the manager would log on reload.
type PolicyConfigMapValidator struct {
	// Namespace and Name locate the policy ConfigMap; others are allowed
	// untouched (matchConditions should keep them from ever arriving).
	Namespace, Name string
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
	_, errs := LoadPolicy(cm)
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, cm.Name, errs)
}

// LoadPolicy loads the policy in a ConfigMap, or returns what is wrong with
// it, with field paths rooted at the ConfigMap
// (data[policy.yaml].ttl.rules[0].when).
func LoadPolicy(cm *corev1.ConfigMap) (*policy.Policy, field.ErrorList) {
	key := field.NewPath("data").Key(policy.ConfigMapKey)
	data, ok := cm.Data[policy.ConfigMapKey]
	if !ok {
		return nil, field.ErrorList{field.Required(key, "the policy document goes under this key; see docs/policy.md")}
	}
	p, err := policy.Load([]byte(data))
	if err == nil {
		return p, nil
	}
	var perr *policy.Error
	if !errors.As(err, &perr) {
		return nil, field.ErrorList{field.Invalid(key, field.OmitValueType{}, strings.TrimPrefix(err.Error(), policy.ConfigMapKey+": "))}
	}
	errs := make(field.ErrorList, 0, len(perr.Errs))
	for _, fe := range perr.Errs {
		rooted := *fe
		rooted.Field = key.String() + "." + fe.Field
		errs = append(errs, &rooted)
	}
	return nil, errs
}
