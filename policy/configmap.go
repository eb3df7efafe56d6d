package policy

import (
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FromConfigMap loads the policy in a ConfigMap, or returns what is wrong
// with it, with field paths rooted at the ConfigMap
// (data[policy.yaml].ttl.rules[0].when), so the manager's reload and the
// ConfigMap's admission report a bad policy in the same words.
func FromConfigMap(cm *corev1.ConfigMap) (*Policy, field.ErrorList) {
	key := field.NewPath("data").Key(ConfigMapKey)
	data, ok := cm.Data[ConfigMapKey]
	if !ok {
		return nil, field.ErrorList{field.Required(key, "the policy document goes under this key; see docs/policy.md")}
	}
	p, err := Load([]byte(data))
	if err == nil {
		return p, nil
	}
	var perr *Error
	if !errors.As(err, &perr) {
		return nil, field.ErrorList{field.Invalid(key, field.OmitValueType{}, strings.TrimPrefix(err.Error(), ConfigMapKey+": "))}
	}
	errs := make(field.ErrorList, 0, len(perr.Errs))
	for _, fe := range perr.Errs {
		rooted := *fe
		rooted.Field = key.String() + "." + fe.Field
		errs = append(errs, &rooted)
	}
	return nil, errs
}
