package bench

import (
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/jobadmission"
)

func TestCallsMade(t *testing.T) {
	before := webhookCalls{seconds: 1, count: 50, failedOpen: 2}
	for _, tc := range []struct {
		name  string
		after webhookCalls
		want  string // a part of the error; empty for none
	}{
		{"a call per Job", webhookCalls{seconds: 3, count: 150, failedOpen: 2}, ""},
		{"more calls than Jobs", webhookCalls{seconds: 3, count: 151, failedOpen: 2}, ""},
		{"fewer calls than Jobs", webhookCalls{seconds: 3, count: 149, failedOpen: 2}, "called 99 times for 100 Jobs"},
		{"calls failed open", webhookCalls{seconds: 3, count: 150, failedOpen: 5}, "3 calls failed and let the Job through unmutated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callsMade(before, tc.after, 100)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestAdmittedAs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   string
		withTTL int
		want    string // a part of the error; empty for none
	}{
		{"every Job mutated", SetupTaskgatePolicy, 100, ""},
		{"a Job let through", SetupTaskgatePolicy, 99, "1 of 100 Jobs were admitted without the creation TTL"},
		{"a webhook let Jobs through", SetupHook, 0, "100 of 100 Jobs were admitted without the creation TTL"},
		{"no admission, no TTL", SetupNone, 0, ""},
		{"no admission, yet a TTL", SetupNone, 2, "2 of 100 Jobs got a TTL with no admission in place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := admittedAs(tc.setup, tc.withTTL, 100)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestTaskgatePolicies checks that the bench policy compiles into params
// that give the bench's Jobs the creation TTL, and that both generated
// policies are bound to the taskgate policy setup's namespaces and read
// those params.
func TestTaskgatePolicies(t *testing.T) {
	objs, err := taskgatePolicies()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		switch o := o.(type) {
		case *taskgatev1alpha1.JobTTLParams:
			kinds = append(kinds, "params")
			if o.Namespace != managerNamespace || o.Name != taskgatePolicy {
				t.Errorf("params %s/%s, want %s/%s", o.Namespace, o.Name, managerNamespace, taskgatePolicy)
			}
			var ttls []int32
			for _, r := range o.Spec.Rules {
				ttls = append(ttls, ptr.Deref(r.Plain.TTLSecondsAfterFinished, -1))
			}
			if !slices.Contains(ttls, creationTTL) {
				t.Errorf("params' rules give %v, none the creation TTL %d", ttls, creationTTL)
			}
		case *admissionregistrationv1.MutatingAdmissionPolicy:
			kinds = append(kinds, "mutating")
			if o.Spec.ParamKind == nil || o.Spec.ParamKind.Kind != "JobTTLParams" {
				t.Errorf("mutating policy's paramKind %+v", o.Spec.ParamKind)
			}
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			kinds = append(kinds, "validating")
		case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
			kinds = append(kinds, "mutating binding")
			checkBinding(t, o.Spec.PolicyName, o.Spec.ParamRef, o.Spec.MatchResources)
		case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
			kinds = append(kinds, "validating binding")
			// The warnings' policy reads only params that may warn.
			if ref := o.Spec.ParamRef; ref == nil || ref.Selector == nil || ref.Selector.MatchLabels[jobadmission.WarningsLabel] != "true" {
				t.Errorf("validating binding's paramRef %+v, want params selected by %s", ref, jobadmission.WarningsLabel)
			}
			checkBinding(t, o.Spec.PolicyName, &admissionregistrationv1.ParamRef{Name: taskgatePolicy, Namespace: o.Spec.ParamRef.Namespace}, o.Spec.MatchResources)
			if !slices.Equal(o.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn}) {
				t.Errorf("validating binding's actions %v, want [Warn]", o.Spec.ValidationActions)
			}
		}
	}
	if want := []string{"params", "mutating", "mutating binding", "validating", "validating binding"}; !slices.Equal(kinds, want) {
		t.Errorf("objects %v, want %v", kinds, want)
	}
}

func checkBinding(t *testing.T, policyName string, ref *admissionregistrationv1.ParamRef, match *admissionregistrationv1.MatchResources) {
	t.Helper()
	if policyName != taskgatePolicy {
		t.Errorf("binding's policy %q, want %q", policyName, taskgatePolicy)
	}
	if ref == nil || ref.Name != taskgatePolicy || ref.Namespace != managerNamespace {
		t.Errorf("binding's paramRef %+v, want %s/%s", ref, managerNamespace, taskgatePolicy)
	}
	if match == nil || match.NamespaceSelector == nil || match.NamespaceSelector.MatchLabels[setupLabel] != keyTaskgatePolicy {
		t.Errorf("binding's match %+v, want the namespaces labelled %s=%s", match, setupLabel, keyTaskgatePolicy)
	}
}
