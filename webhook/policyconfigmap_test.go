package webhook

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/policy"
)

// TestPolicyConfigMapValidatorWithJobAdmission checks that, while
// kube-apiserver's admission policies admit Jobs, a policy too large for
// their params is refused at apply time, and is fine for the webhook.
func TestPolicyConfigMapValidatorWithJobAdmission(t *testing.T) {
	var doc strings.Builder
	doc.WriteString("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\nttl:\n  rules:\n")
	for i := range 65 {
		fmt.Fprintf(&doc, "  - {name: r%d, kinds: [Job], when: Created, ttlSecondsAfterFinished: 60}\n", i)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "taskgate-system", Name: policy.ConfigMapName},
		Data:       map[string]string{policy.ConfigMapKey: doc.String()},
	}
	for _, tt := range []struct {
		jobAdmission bool
		want         string
	}{
		{false, ""},
		{true, `ConfigMap "taskgate-policy" is invalid: ttl.rules: Too many: 65: must have at most 64 rules for Jobs while kube-apiserver's admission policies admit Jobs (the chart's jobAdmission: policy); use fewer, or install the chart with jobAdmission: webhook`},
	} {
		v := &PolicyConfigMapValidator{Namespace: "taskgate-system", Name: policy.ConfigMapName, JobAdmission: tt.jobAdmission}
		_, err := v.ValidateCreate(context.Background(), cm)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("JobAdmission %v: got %q, want %q", tt.jobAdmission, got, tt.want)
		}
	}
}
