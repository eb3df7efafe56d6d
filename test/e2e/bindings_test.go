package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/test/localcluster"
)

// TestAppBindingWithoutTypeIsRefused: servicebinding.io requires a type,
// so the App webhook refuses a binding whose Secret has no type key, is not
// of type servicebinding.io/<type>, and which sets no type itself; setting
// the binding's type admits it. A sender who may not get the Secret is
// told only that, not whether it has a type.
func TestAppBindingWithoutTypeIsRefused(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newNamespace(t, c)
	createSecret(t, c, ns, "plain", map[string]string{"host": "db.shop.svc"})
	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: v1alpha1.AppSpec{Image: "registry.example.com/shop/web:v1", Args: []string{"serve"},
			ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "plain"}}},
	}
	// Someone who may not read the Secret learns nothing of what it holds:
	// only that they may not bind it.
	grant(t, c, ns, "bob", "write-apps",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"apps"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
	requireAccessDenied(t, actingAs(t, "bob").Create(ctx, app.DeepCopy()),
		"spec.serviceBindings[0].secretName: "+forbiddenBinding("bob", ns, "plain"))

	err := c.Create(ctx, app.DeepCopy())
	want := `App.taskgate.dev "shop" is invalid: spec.serviceBindings[0].type: Required value: binding "db" has no servicebinding.io type: ` +
		`Secret "plain" has no "type" key and is not of type servicebinding.io/<type>; set type, such as type: postgresql, or add a type key to the Secret`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("creating an App binding a Secret without a type: %v\nwant: %s", err, want)
	}
	app.Spec.ServiceBindings[0].Type = "postgresql"
	if err := c.Create(ctx, app); err != nil {
		t.Fatalf("creating the App with the binding's type: %v", err)
	}

	// An App may come before its Secret; a Secret that then has no type
	// is reported on the App, naming the binding, not the Secret.
	early := newApp(t, c, ns, "early", func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{{Name: "cache", SecretName: "later"}}
	})
	createSecret(t, c, ns, "later", map[string]string{"host": "cache.shop.svc"})
	eventually(t, 30*time.Second, "Ready to say the binding has no type", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(early), early); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(early.Status.Conditions, "Ready")
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == "BindingTypeMissing" &&
				cond.Message == "Binding cache gets no servicebinding.io type, so Tasks see no type file; set type on the binding or add a type key to its Secret",
			fmt.Errorf("Ready %+v", cond)
	})
}

// TestRealTaskReadsBindingsAsLibrariesDo: a Task's process on the real node
// finds each binding's type and provider files beside its Secret's keys
// (the type of one from its Secret's type servicebinding.io/postgresql,
// which no Secret key holds, the other from the binding's own field), and
// parses VCAP_SERVICES and VCAP_APPLICATION: a port that is a number in the
// Secret is a number in VCAP_SERVICES, nested JSON stays nested, and the
// App's name, UID, namespace and the Task's memory are in VCAP_APPLICATION.
func TestRealTaskReadsBindingsAsLibrariesDo(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	ns := newRealNodeNamespace(t, c)
	for _, s := range []*corev1.Secret{{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-db"},
		Type:       "servicebinding.io/postgresql",
		StringData: map[string]string{"provider": "bitnami", "host": "db.shop.svc", "port": "5432", "password": "s3cret", "options": `{"sslmode":"require"}`},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-cache"},
		StringData: map[string]string{"host": "cache.shop.svc"},
	}} {
		if err := c.Create(ctx, s); err != nil {
			t.Fatalf("creating Secret %s: %v", s.Name, err)
		}
	}
	app := realApp(t, c, ns, localcluster.ImageShellUID, func(app *v1alpha1.App) {
		app.Spec.ServiceBindings = []v1alpha1.ServiceBinding{
			{Name: "db", SecretName: "shop-db"},
			{Name: "cache", SecretName: "shop-cache", Type: "redis", Label: "p.redis", Plan: "small", Tags: []string{"redis", "cache"}},
		}
	})
	eventually(t, time.Minute, "the App to be Ready", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(app), app)
		return err == nil && meta.IsStatusConditionTrue(app.Status.Conditions, "Ready"), err
	})

	// busybox has no JSON parser: sed takes the fields out of the compact
	// documents, and the test decodes the documents the process saw.
	script := `cd "$SERVICE_BINDING_ROOT"
for f in db/type db/provider db/host db/port db/options cache/type cache/provider cache/host; do
  if [ -e "$f" ]; then echo "$f=$(cat "$f")"; else echo "$f absent"; fi
done
echo "port=$(echo "$VCAP_SERVICES" | sed -n 's/.*"port":\([^,}]*\).*/\1/p')"
echo "sslmode=$(echo "$VCAP_SERVICES" | sed -n 's/.*"options":{"sslmode":"\([^"]*\)"}.*/\1/p')"
echo "cache.label=$(echo "$VCAP_SERVICES" | sed -n 's/.*"p.redis":\[{[^]]*"label":"\([^"]*\)".*/\1/p')"
echo "application_name=$(echo "$VCAP_APPLICATION" | sed -n 's/.*"application_name":"\([^"]*\)".*/\1/p')"
echo "mem=$(echo "$VCAP_APPLICATION" | sed -n 's/.*"mem":\([0-9]*\).*/\1/p')"
echo "VCAP_SERVICES=$VCAP_SERVICES"
echo "VCAP_APPLICATION=$VCAP_APPLICATION"`
	task := realTask(t, c, app, "bindings", script, func(task *v1alpha1.Task) {
		task.Spec.Memory = ptr.To(resource.MustParse("64Mi"))
		task.Spec.Disk = ptr.To(resource.MustParse("256Mi"))
	})
	done := waitForState(t, c, task, v1alpha1.TaskStateSucceeded, 2*time.Minute)
	realPod(t, c, ns, done.Status.PodName)
	got := strings.Split(strings.TrimSpace(containerLogs(t, ns, done.Status.PodName, "step-main")), "\n")

	want := []string{
		"db/type=postgresql", "db/provider=bitnami", "db/host=db.shop.svc", "db/port=5432", `db/options={"sslmode":"require"}`,
		"cache/type=redis", "cache/provider absent", "cache/host=cache.shop.svc",
		"port=5432", "sslmode=require", "cache.label=p.redis", "application_name=shop", "mem=64",
	}
	if len(got) != len(want)+2 || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Fatalf("the process printed:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	services := strings.TrimPrefix(got[len(want)], "VCAP_SERVICES=")
	wantServices := `{"p.redis":[{"name":"cache","instance_name":"cache","binding_name":"cache","label":"p.redis","plan":"small","provider":null,` +
		`"tags":["redis","cache"],"credentials":{"host":"cache.shop.svc"},"syslog_drain_url":null,"volume_mounts":[]}],` +
		`"postgresql":[{"name":"db","instance_name":"db","binding_name":"db","label":"postgresql","plan":"","provider":"bitnami","tags":[],` +
		`"credentials":{"host":"db.shop.svc","options":{"sslmode":"require"},"password":"s3cret","port":5432},"syslog_drain_url":null,"volume_mounts":[]}]}`
	if services != wantServices {
		t.Fatalf("VCAP_SERVICES =\n%s\nwant\n%s", services, wantServices)
	}
	// As a cfenv library reads it: the port is a number.
	var parsed map[string][]struct {
		Credentials map[string]any `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(services), &parsed); err != nil {
		t.Fatalf("VCAP_SERVICES does not parse: %v", err)
	}
	if port, ok := parsed["postgresql"][0].Credentials["port"].(float64); !ok || port != 5432 {
		t.Fatalf("credentials.port = %#v, want the number 5432", parsed["postgresql"][0].Credentials["port"])
	}

	application := strings.TrimPrefix(got[len(want)+1], "VCAP_APPLICATION=")
	// space_id is the namespace's UID, as a space's GUID.
	namespace := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
		t.Fatal(err)
	}
	wantApplication := fmt.Sprintf(`{"application_id":"%s","application_name":"shop","application_uris":[],"limits":{"mem":64,"disk":256,"fds":16384},`+
		`"name":"shop","space_id":"%s","space_name":"%s","uris":[]}`, app.UID, namespace.UID, ns)
	if application != wantApplication {
		t.Fatalf("VCAP_APPLICATION =\n%s\nwant\n%s", application, wantApplication)
	}
}
