package webhook

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// denyAll is a Reviewer that allows nothing and records whom it asked
// about what.
type denyAll struct{ asked []string }

func (d *denyAll) Missing(_ context.Context, u user.Info, needs []access.Need) ([]access.Need, error) {
	for _, n := range needs {
		d.asked = append(d.asked, u.GetName()+": "+n.Permission())
	}
	return needs, nil
}

// TestAppValidatorReviewsSpecChanges: a create and any change of spec are
// reviewed, every binding included; a change of metadata alone is not.
func TestAppValidatorReviewsSpecChanges(t *testing.T) {
	app := func(image string, labels map[string]string) *v1alpha1.App {
		return &v1alpha1.App{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: labels},
			Spec: v1alpha1.AppSpec{Image: image, Args: []string{"serve"},
				ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}},
		}
	}
	ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: "alice"},
	}})
	reviewed := []string{`alice: create pods in namespace "shop"`, `alice: get secret "db-creds" in namespace "shop"`}
	tests := []struct {
		name     string
		validate func(v *AppValidator) error
		asked    []string
	}{{
		name:     "create",
		validate: func(v *AppValidator) error { _, err := v.ValidateCreate(ctx, app("shop:1", nil)); return err },
		asked:    reviewed,
	}, {
		name: "a new image keeps every binding under review",
		validate: func(v *AppValidator) error {
			_, err := v.ValidateUpdate(ctx, app("shop:1", nil), app("shop:2", nil))
			return err
		},
		asked: reviewed,
	}, {
		name: "a label alone is not reviewed",
		validate: func(v *AppValidator) error {
			_, err := v.ValidateUpdate(ctx, app("shop:1", nil), app("shop:1", map[string]string{"team": "a"}))
			return err
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &denyAll{}
			err := tt.validate(&AppValidator{Policy: fixedPolicy{policy.Default()}, Access: d})
			if diff := cmp.Diff(tt.asked, d.asked); diff != "" {
				t.Errorf("reviewed (-want +got):\n%s", diff)
			}
			if got := len(tt.asked) > 0; got != apierrors.IsInvalid(err) {
				t.Errorf("error = %v, want a denial: %v", err, got)
			}
		})
	}
}
