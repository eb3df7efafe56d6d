package access

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func TestForbidden(t *testing.T) {
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: v1alpha1.AppSpec{ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}}}
	task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}}
	task.Spec.Env = []corev1.EnvVar{{Name: "PASS", ValueFrom: secretKey("other", "password")}}
	alice := &user.DefaultInfo{Name: "alice"}
	var got []string
	for _, err := range Forbidden(alice, append(AppNeeds(app), TaskNeeds(task, app)...)) {
		got = append(got, err.Error())
	}
	want := []string{
		`spec: Forbidden: you (user "alice") may not create pods in namespace "shop"; an App is the template of its Tasks' pods (image, ServiceAccount, env and Secrets), so writing one needs create on pods; ask for that permission`,
		`spec.serviceBindings[0].secretName: Forbidden: you (user "alice") may not get secret "db-creds" in namespace "shop"; binding a Secret needs get on it; ask for that permission or bind a Secret you can read`,
		`spec.env[0].valueFrom.secretKeyRef.name: Forbidden: you (user "alice") may not get secret "other" in namespace "shop"; a Task's env may read only what its App already gives its pods, or what you may get yourself; ask for that permission, or have the App's env or envFrom reference it`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Forbidden() (-want +got):\n%s", diff)
	}
}

func TestRequester(t *testing.T) {
	got := Requester(authenticationv1.UserInfo{
		Username: "alice", UID: "42", Groups: []string{"devs", "system:authenticated"},
		Extra: map[string]authenticationv1.ExtraValue{"scopes": {"a", "b"}},
	})
	want := &user.DefaultInfo{Name: "alice", UID: "42", Groups: []string{"devs", "system:authenticated"},
		Extra: map[string][]string{"scopes": {"a", "b"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Requester() (-want +got):\n%s", diff)
	}
}

// decisions is an authorizer that answers from a table keyed by
// permission, and records what it was asked.
type decisions struct {
	answers map[string]authorizer.Decision
	err     error
	asked   []authorizer.AttributesRecord
}

func (d *decisions) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	d.asked = append(d.asked, a.(authorizer.AttributesRecord))
	return d.answers[a.GetVerb()+" "+a.GetResource()+"/"+a.GetName()], "", d.err
}

func TestMissing(t *testing.T) {
	needs := []Need{
		{Verb: "create", Resource: "pods", Namespace: "shop"},
		{Verb: "get", Resource: "secrets", Namespace: "shop", Name: "allowed"},
		{Verb: "get", Resource: "secrets", Namespace: "shop", Name: "denied"},
		{Verb: "get", Resource: "configmaps", Namespace: "shop", Name: "no-opinion"},
	}
	alice := &user.DefaultInfo{Name: "alice", Groups: []string{"devs"}}
	d := &decisions{answers: map[string]authorizer.Decision{
		"create pods/":              authorizer.DecisionAllow,
		"get secrets/allowed":       authorizer.DecisionAllow,
		"get secrets/denied":        authorizer.DecisionDeny,
		"get configmaps/no-opinion": authorizer.DecisionNoOpinion,
	}}
	missing, err := (&SubjectAccessReviewer{authorizer: d}).Missing(context.Background(), alice, needs)
	if err != nil {
		t.Fatalf("Missing() error = %v", err)
	}
	if diff := cmp.Diff(needs[2:], missing); diff != "" {
		t.Errorf("Missing() (-want +got):\n%s", diff)
	}
	wantAsked := authorizer.AttributesRecord{User: alice, Verb: "get", Namespace: "shop", APIVersion: "v1",
		Resource: "secrets", Name: "allowed", ResourceRequest: true}
	if diff := cmp.Diff(wantAsked, d.asked[1]); diff != "" {
		t.Errorf("attributes asked (-want +got):\n%s", diff)
	}

	d.err = errors.New("connection refused")
	_, err = (&SubjectAccessReviewer{authorizer: d}).Missing(context.Background(), alice, needs)
	if want := `reviewing whether alice may create pods in namespace "shop": connection refused`; err == nil || err.Error() != want {
		t.Errorf("Missing() error = %v, want %s", err, want)
	}
}
