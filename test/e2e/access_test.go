package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
)

// The messages the access checks deny with, for a user and namespace.
func forbiddenTaskEnv(user, ns, secret string) string {
	return fmt.Sprintf(`Forbidden: you (user %q) may not get secret %q in namespace %q; `+
		`a Task's env may read only what its App already gives its pods, or what you may get yourself; `+
		`ask for that permission, or have the App's env or envFrom reference it`, user, secret, ns)
}

func forbiddenPods(user, ns string) string {
	return fmt.Sprintf(`Forbidden: you (user %q) may not create pods in namespace %q; `+
		`an App is the template of its Tasks' pods (image, ServiceAccount, env and Secrets), so writing one needs create on pods; `+
		`ask for that permission`, user, ns)
}

func forbiddenBinding(user, ns, secret string) string {
	return fmt.Sprintf(`Forbidden: you (user %q) may not get secret %q in namespace %q; `+
		`binding a Secret needs get on it; ask for that permission or bind a Secret you can read`, user, secret, ns)
}

// actingAs returns a client that impersonates user, who is then in no
// group but system:authenticated.
func actingAs(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("creating a client as %s: %v", user, err)
	}
	return c
}

// grant gives user the rules in ns through a Role and RoleBinding named
// name, and waits until the authorizer allows the first rule's first verb
// on its first resource (and name): RBAC reaches the authorizer through an
// informer.
func grant(t *testing.T, c client.Client, ns, user, name string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, name, err)
		}
	}
	first := rules[0]
	attrs := &authorizationv1.ResourceAttributes{
		Namespace: ns, Verb: first.Verbs[0], Group: first.APIGroups[0], Resource: first.Resources[0],
	}
	if len(first.ResourceNames) > 0 {
		attrs.Name = first.ResourceNames[0]
	}
	eventually(t, 30*time.Second, "RBAC to allow "+user+" "+name, func() (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:authenticated"}, ResourceAttributes: attrs,
		}}
		err := c.Create(ctx, sar)
		return err == nil && sar.Status.Allowed, err
	})
}

// accessCauses returns an admission denial's causes as "field: message",
// and fails the test when err is no denial with causes.
func accessCauses(t *testing.T, err error) []string {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		t.Fatalf("error %v, want a denial with causes", err)
	}
	var causes []string
	for _, c := range status.Status().Details.Causes {
		causes = append(causes, c.Field+": "+c.Message)
	}
	return causes
}

// requireAccessDenied fails unless err denies with exactly the causes want.
func requireAccessDenied(t *testing.T, err error, want ...string) {
	t.Helper()
	if got := accessCauses(t, err); !slices.Equal(got, want) {
		t.Fatalf("denied with:\n%q\nwant exactly:\n%q", got, want)
	}
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}}
}

func createSecret(t *testing.T, c client.Client, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := c.Create(context.Background(), s); err != nil {
		t.Fatalf("creating Secret %s: %v", name, err)
	}
}

// TestTaskEnvNeedsGetOnItsSecrets: a user who may create Tasks but not read
// Secrets cannot have a Task read one through spec.env, unless the App
// already gives it to its pods; with get on the Secret they can.
func TestTaskEnvNeedsGetOnItsSecrets(t *testing.T) {
	ctx := context.Background()
	admin := newClient(t)
	ns := newNamespace(t, admin)
	createSecret(t, admin, ns, "db-creds", map[string]string{"password": "app-password"})
	createSecret(t, admin, ns, "payroll", map[string]string{"token": "not-for-alice"})
	app := newApp(t, admin, ns, "shop", func(app *v1alpha1.App) {
		app.Spec.Env = append(app.Spec.Env, secretEnv("DB_PASSWORD", "db-creds", "password"))
	})
	grant(t, admin, ns, "alice", "run-tasks",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks"}, Verbs: []string{"create", "get"}},
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps"}, Verbs: []string{"get"}})
	alice := actingAs(t, "alice")
	task := func(name string, env ...corev1.EnvVar) *v1alpha1.Task {
		return &v1alpha1.Task{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: app.Name}, Command: "env", Env: env},
		}
	}

	err := alice.Create(ctx, task("peek", secretEnv("TOKEN", "payroll", "token")))
	requireAccessDenied(t, err, "spec.env[0].valueFrom.secretKeyRef.name: "+forbiddenTaskEnv("alice", ns, "payroll"))

	// The key the App's env already reads is no more than running the App.
	if err := alice.Create(ctx, task("reuse", secretEnv("PGPASSWORD", "db-creds", "password"))); err != nil {
		t.Fatalf("creating a Task that reads the App's own Secret key: %v", err)
	}
	// Another key of that Secret is more.
	err = alice.Create(ctx, task("other-key", secretEnv("ADMIN", "db-creds", "admin-password")))
	requireAccessDenied(t, err, "spec.env[0].valueFrom.secretKeyRef.name: "+forbiddenTaskEnv("alice", ns, "db-creds"))

	grant(t, admin, ns, "alice", "read-payroll",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"payroll"}, Verbs: []string{"get"}})
	// The webhook may still hold alice's denial for a few seconds.
	eventually(t, 30*time.Second, "alice's Task reading payroll to be admitted", func() (bool, error) {
		err := alice.Create(ctx, task("peek", secretEnv("TOKEN", "payroll", "token")))
		return err == nil, err
	})
}

// TestAppNeedsCreatePodsAndGetOnBoundSecrets: writing an App needs create
// on pods, and each Secret it binds needs get, on create and on an update
// that adds the binding.
func TestAppNeedsCreatePodsAndGetOnBoundSecrets(t *testing.T) {
	ctx := context.Background()
	admin := newClient(t)
	ns := newNamespace(t, admin)
	createSecret(t, admin, ns, "db-creds", map[string]string{"password": "s3cret"})
	grant(t, admin, ns, "bob", "write-apps",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps"}, Verbs: []string{"create", "get", "update", "patch"}})
	bob := actingAs(t, "bob")
	app := func(bindings ...v1alpha1.ServiceBinding) *v1alpha1.App {
		return &v1alpha1.App{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"serve"},
				ServiceBindings: bindings},
		}
	}
	db := v1alpha1.ServiceBinding{Name: "db", SecretName: "db-creds", Type: "postgresql"}

	requireAccessDenied(t, bob.Create(ctx, app()), "spec: "+forbiddenPods("bob", ns))

	grant(t, admin, ns, "bob", "create-pods",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
	bindingDenied := "spec.serviceBindings[0].secretName: " + forbiddenBinding("bob", ns, "db-creds")
	// Until the webhook's cached denial of create pods expires, both
	// causes are given; then only the binding's.
	eventually(t, 30*time.Second, "only the binding to be denied", func() (bool, error) {
		got := accessCauses(t, bob.Create(ctx, app(db)))
		return slices.Equal(got, []string{bindingDenied}), fmt.Errorf("denied with %q", got)
	})

	created := app()
	if err := bob.Create(ctx, created); err != nil {
		t.Fatalf("creating an App without bindings, with create pods: %v", err)
	}
	// A merge patch without resourceVersion: the App reconciler's status
	// writes would make an update conflict before admission.
	bind := func() error {
		return bob.Patch(ctx, app(db), client.MergeFrom(app()))
	}
	requireAccessDenied(t, bind(), bindingDenied)

	grant(t, admin, ns, "bob", "read-db",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db-creds"}, Verbs: []string{"get"}})
	eventually(t, 30*time.Second, "bob's binding to be admitted", func() (bool, error) {
		err := bind()
		return err == nil, err
	})
}

// TestVCAPServicesSecretFollowsBindings: the App's VCAP_SERVICES Secret is
// put back when edited by hand, at the App's next resync (5 s here, a
// minute by default: the manager may not watch Secrets), and deleted when
// the App's last binding goes. Ready names a missing binding, never its
// Secret.
func TestVCAPServicesSecretFollowsBindings(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	createSecret(t, c, ns, "db-creds", map[string]string{"password": "s3cret"})
	app := newApp(t, c, ns, "shop", func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds", Type: "postgresql"}}
	})
	key := client.ObjectKey{Namespace: ns, Name: inherit.VCAPSecretName(app.Name)}
	want := `{"postgresql":[{"name":"db","instance_name":"db","binding_name":"db","label":"postgresql","plan":"","provider":null,"tags":[],` +
		`"credentials":{"password":"s3cret"},"syslog_drain_url":null,"volume_mounts":[]}]}`
	vcap := &corev1.Secret{}
	holdsBindings := func() (bool, error) {
		if err := c.Get(ctx, key, vcap); err != nil {
			return false, err
		}
		ok := len(vcap.Data) == 2 && string(vcap.Data[inherit.VCAPServicesKey]) == want && string(vcap.Data["type.db"]) == "postgresql" &&
			vcap.Labels[v1alpha1.LabelApp] == app.Name
		return ok, fmt.Errorf("labels %v, data %q", vcap.Labels, vcap.Data)
	}
	eventually(t, 30*time.Second, "the VCAP_SERVICES Secret", holdsBindings)

	vcap.Data = map[string][]byte{inherit.VCAPServicesKey: []byte(`{}`), "extra": []byte("x")}
	if err := c.Update(ctx, vcap); err != nil {
		t.Fatalf("editing the VCAP_SERVICES Secret: %v", err)
	}
	start := time.Now()
	eventually(t, 20*time.Second, "the edit to be put back", holdsBindings)
	t.Logf("edit put back after %s", time.Since(start).Round(time.Millisecond))

	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.ServiceBindings = nil
	if err := c.Patch(ctx, app, patch); err != nil {
		t.Fatalf("removing the App's bindings: %v", err)
	}
	eventually(t, 30*time.Second, "the VCAP_SERVICES Secret to be deleted", func() (bool, error) {
		err := c.Get(ctx, key, &corev1.Secret{})
		return apierrors.IsNotFound(err), fmt.Errorf("reading it: %v", err)
	})
	eventually(t, 30*time.Second, "an Event on the App saying so", func() (bool, error) {
		var events eventsv1.EventList
		if err := c.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		var seen []string
		for _, e := range events.Items {
			if e.Regarding.Kind == "App" && e.Regarding.Name == app.Name && e.Reason == "VCAPServicesDeleted" {
				want := fmt.Sprintf("Secret %s deleted: App %s has no service bindings left", key.Name, app.Name)
				return e.Type == corev1.EventTypeNormal && e.Note == want, fmt.Errorf("Event %s %q, want Normal %q", e.Type, e.Note, want)
			}
			seen = append(seen, e.Reason)
		}
		return false, fmt.Errorf("Events %v", seen)
	})

	lonely := newApp(t, c, ns, "lonely", func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "cache", SecretName: "redis-creds-nope"}}
	})
	eventually(t, 30*time.Second, "Ready to name the missing binding", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(lonely), lonely); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(lonely.Status.Conditions, "Ready")
		return cond != nil && cond.ObservedGeneration == lonely.Generation && cond.Status == metav1.ConditionFalse &&
				cond.Reason == "SecretNotFound" &&
				cond.Message == "The Secret of binding cache was not found; create it, or Tasks start without those credentials",
			fmt.Errorf("Ready %+v", cond)
	})
}
