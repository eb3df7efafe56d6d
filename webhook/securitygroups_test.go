package webhook

import (
	"context"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

const sgPolicy = `apiVersion: taskgate.dev/v1alpha1
kind: Policy
tasks:
  podMetadata: {annotations: ["example.com/*"], labels: [team]}
  securityGroups:
  - {name: shop, groups: [web-egress], namespaces: [shop]}
  - {name: pci, groups: [db-egress], namespaceSelector: {matchLabels: {compliance: pci}}}
`

func loadPolicy(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// causes renders an Invalid API status as "field: message" lines.
func causes(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	status, ok := err.(apierrors.APIStatus)
	if !ok || !apierrors.IsInvalid(err) {
		t.Fatalf("error %v, want an Invalid API status", err)
	}
	var got []string
	for _, c := range status.Status().Details.Causes {
		got = append(got, c.Field+": "+c.Message)
	}
	return got
}

func sgApp(groups ...string) *v1alpha1.App {
	return &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "shop", UID: "app-uid"},
		Spec:       v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"puma"}, SecurityGroups: groups},
	}
}

func TestAppValidatorSecurityGroups(t *testing.T) {
	tests := []struct {
		name     string
		nsLabels map[string]string
		groups   []string
		want     []string
	}{
		{name: "bound by name", groups: []string{"web-egress"}},
		{name: "bound by the namespace's labels", nsLabels: map[string]string{"compliance": "pci"}, groups: []string{"web-egress", "db-egress"}},
		{
			name: "not bound", groups: []string{"web-egress", "db-egress"},
			want: []string{`spec.securityGroups[1]: Forbidden: security group "db-egress" is not bound to namespace "shop"; it may use: "web-egress" (policy tasks.securityGroups); ask a cluster admin to bind it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &AppValidator{
				Policy:     fixedPolicy{loadPolicy(t, sgPolicy)},
				Namespaces: func(_ context.Context, ns string) (map[string]string, error) { return tt.nsLabels, nil },
			}
			_, err := v.ValidateCreate(context.Background(), sgApp(tt.groups...))
			if got := causes(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("causes = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTaskDefaulterSecurityGroupsAndPodMetadata: a Task of an App whose
// group is no longer bound is denied at spec.appRef, and one whose metadata
// the allowlist trims is warned, exactly.
func TestTaskDefaulterSecurityGroupsAndPodMetadata(t *testing.T) {
	tests := []struct {
		name     string
		app      *v1alpha1.App
		warnings []string
		causes   []string
	}{
		{
			name: "bound",
			app:  sgApp("web-egress"),
			warnings: []string{
				"annotations not copied to the pod (policy tasks.podMetadata.annotations): sidecar.istio.io/inject",
				"labels not copied to the pod (policy tasks.podMetadata.labels): tier",
			},
		},
		{
			name:   "no longer bound",
			app:    sgApp("db-egress"),
			causes: []string{`spec.appRef: Forbidden: App shop: spec.securityGroups[0]: Forbidden: security group "db-egress" is not bound to namespace "shop"; it may use: "web-egress" (policy tasks.securityGroups); ask a cluster admin to bind it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &TaskDefaulter{
				Policy:     fixedPolicy{loadPolicy(t, sgPolicy)},
				Apps:       func(context.Context, string, string) (*v1alpha1.App, error) { return tt.app, nil },
				Namespaces: func(context.Context, string) (map[string]string, error) { return nil, nil },
			}
			task := &v1alpha1.Task{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: "shop", Name: "migrate",
					Annotations: map[string]string{"example.com/owner": "a", "sidecar.istio.io/inject": "false"},
					Labels:      map[string]string{"team": "a", "tier": "batch"},
				},
				Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "shop"}, Command: "rake db:migrate"},
			}
			warnings, err := h.Default(context.Background(), task)
			if got := causes(t, err); !reflect.DeepEqual(got, tt.causes) {
				t.Errorf("causes = %q, want %q", got, tt.causes)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}
