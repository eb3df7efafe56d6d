package localcluster

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/jobadmission"
)

// JobAdmissionPolicies are taskgate's generated Job admission policies,
// named name, with bindings as the chart makes them but selecting what
// match selects and reading the JobTTLParams paramsName in paramsNamespace
// (the validating one, those there with jobadmission.WarningsLabel):
// for tests and the bench, which scope them to namespaces of their own.
func JobAdmissionPolicies(name string, match *admissionregistrationv1.MatchResources, paramsNamespace, paramsName string) []client.Object {
	paramRef := &admissionregistrationv1.ParamRef{
		Name: paramsName, Namespace: paramsNamespace,
		ParameterNotFoundAction: ptr.To(admissionregistrationv1.AllowAction),
	}
	mutating, validating := jobadmission.MutatingPolicy(), jobadmission.ValidatingPolicy()
	mutating.Name, validating.Name = name, name
	return []client.Object{
		mutating,
		&admissionregistrationv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name, ParamRef: paramRef, MatchResources: match},
		},
		validating,
		&admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: name, MatchResources: match.DeepCopy(),
				ParamRef: &admissionregistrationv1.ParamRef{
					Namespace: paramsNamespace, ParameterNotFoundAction: ptr.To(admissionregistrationv1.AllowAction),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{jobadmission.WarningsLabel: "true"}},
				},
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn},
			},
		},
	}
}
