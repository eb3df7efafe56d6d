package access

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// needStrings renders needs as "field: permission" for exact comparison.
func needStrings(needs []Need) []string {
	var out []string
	for _, n := range needs {
		out = append(out, n.Field.String()+": "+n.Permission())
	}
	return out
}

func TestAppNeeds(t *testing.T) {
	tests := []struct {
		name string
		spec v1alpha1.AppSpec
		want []string
	}{{
		name: "an App without bindings needs only create pods, whatever Secrets its env, envFrom and pull secrets name",
		spec: v1alpha1.AppSpec{
			Image:              "shop:1",
			ServiceAccountName: "deployer",
			Env:                []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "token"}, Key: "t"}}}},
			EnvFrom:            []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all"}}}},
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "registry"}},
		},
		want: []string{`spec: create pods in namespace "shop"`},
	}, {
		name: "each binding needs get on its Secret, at its own index",
		spec: v1alpha1.AppSpec{Image: "shop:1", ServiceBindings: []v1alpha1.ServiceBinding{
			{Name: "db", SecretName: "db-creds"}, {Name: "mq", SecretName: "mq-creds"},
		}},
		want: []string{
			`spec: create pods in namespace "shop"`,
			`spec.serviceBindings[0].secretName: get secret "db-creds" in namespace "shop"`,
			`spec.serviceBindings[1].secretName: get secret "mq-creds" in namespace "shop"`,
		},
	}, {
		name: "an App from a Deployment needs get on it",
		spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDeployment, Name: "web", Container: "app"}},
		want: []string{`spec: create pods in namespace "shop"`, `spec.from: get deployment "web" in namespace "shop"`},
	}, {
		name: "an App from a StatefulSet needs get on it",
		spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadStatefulSet, Name: "db"}},
		want: []string{`spec: create pods in namespace "shop"`, `spec.from: get statefulset "db" in namespace "shop"`},
	}, {
		name: "an App from a DaemonSet needs get on it",
		spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadDaemonSet, Name: "agent"}},
		want: []string{`spec: create pods in namespace "shop"`, `spec.from: get daemonset "agent" in namespace "shop"`},
	}, {
		name: "an App from a CronJob needs get on it",
		spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: v1alpha1.WorkloadCronJob, Name: "nightly"}},
		want: []string{`spec: create pods in namespace "shop"`, `spec.from: get cronjob "nightly" in namespace "shop"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: tt.spec}
			if diff := cmp.Diff(tt.want, needStrings(AppNeeds(app))); diff != "" {
				t.Errorf("AppNeeds() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppNeedsSaysWhyAndHow(t *testing.T) {
	app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: v1alpha1.AppSpec{ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}}}
	got := AppNeeds(app)[1]
	want := Need{Verb: "get", Resource: "secrets", Namespace: "shop", Name: "db-creds",
		Why: "binding a Secret needs get on it", Fix: "ask for that permission or bind a Secret you can read"}
	got.Field = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binding need (-want +got):\n%s", diff)
	}
}

func TestAppNeedsOfAWorkloadNameItsGroup(t *testing.T) {
	for kind, group := range map[string]string{
		v1alpha1.WorkloadDeployment: "apps", v1alpha1.WorkloadStatefulSet: "apps",
		v1alpha1.WorkloadDaemonSet: "apps", v1alpha1.WorkloadCronJob: "batch",
	} {
		app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: v1alpha1.AppSpec{From: &v1alpha1.WorkloadRef{Kind: kind, Name: "web"}}}
		if got := AppNeeds(app)[1]; got.Group != group || got.Verb != VerbGet || got.Name != "web" {
			t.Errorf("%s: need = %+v; want get in group %s", kind, got, group)
		}
	}
}

func secretKey(name, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
}

func configMapKey(name, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
}

func TestTaskNeeds(t *testing.T) {
	tests := []struct {
		name string
		app  v1alpha1.AppSpec
		env  []corev1.EnvVar
		want []string
	}{{
		name: "plain values, fieldRef and resourceFieldRef need nothing",
		env: []corev1.EnvVar{
			{Name: "A", Value: "1"},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
		},
	}, {
		name: "a Secret and a ConfigMap the App does not give need get, at their fields",
		env: []corev1.EnvVar{
			{Name: "A", Value: "1"},
			{Name: "PASS", ValueFrom: secretKey("db-creds", "password")},
			{Name: "MODE", ValueFrom: configMapKey("settings", "mode")},
		},
		want: []string{
			`spec.env[1].valueFrom.secretKeyRef.name: get secret "db-creds" in namespace "shop"`,
			`spec.env[2].valueFrom.configMapKeyRef.name: get configmap "settings" in namespace "shop"`,
		},
	}, {
		name: "the same key the App's env reads needs nothing",
		app:  v1alpha1.AppSpec{Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: secretKey("db-creds", "password")}}},
		env:  []corev1.EnvVar{{Name: "PGPASSWORD", ValueFrom: secretKey("db-creds", "password")}},
	}, {
		name: "another key of a Secret whose one key the App's env reads widens the App",
		app:  v1alpha1.AppSpec{Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: secretKey("db-creds", "password")}}},
		env:  []corev1.EnvVar{{Name: "ADMIN", ValueFrom: secretKey("db-creds", "admin-password")}},
		want: []string{`spec.env[0].valueFrom.secretKeyRef.name: get secret "db-creds" in namespace "shop"`},
	}, {
		name: "any key of a Secret or ConfigMap the App's envFrom gives needs nothing",
		app: v1alpha1.AppSpec{EnvFrom: []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-secrets"}}},
			{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
		}},
		env: []corev1.EnvVar{
			{Name: "X", ValueFrom: secretKey("app-secrets", "x")},
			{Name: "MODE", ValueFrom: configMapKey("settings", "mode")},
		},
	}, {
		name: "a ConfigMap is not a Secret of the same name",
		app: v1alpha1.AppSpec{EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shared"}}},
		}},
		env:  []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("shared", "x")}},
		want: []string{`spec.env[0].valueFrom.secretKeyRef.name: get secret "shared" in namespace "shop"`},
	}, {
		name: "a bound Secret and the App's VCAP_SERVICES Secret need nothing",
		app:  v1alpha1.AppSpec{ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}},
		env: []corev1.EnvVar{
			{Name: "PASS", ValueFrom: secretKey("db-creds", "password")},
			{Name: "VCAP", ValueFrom: secretKey("web-vcap-services", "VCAP_SERVICES")},
		},
	}, {
		name: "another App's VCAP_SERVICES Secret needs get",
		app:  v1alpha1.AppSpec{ServiceBindings: []v1alpha1.ServiceBinding{{Name: "db", SecretName: "db-creds"}}},
		env:  []corev1.EnvVar{{Name: "VCAP", ValueFrom: secretKey("admin-vcap-services", "VCAP_SERVICES")}},
		want: []string{`spec.env[0].valueFrom.secretKeyRef.name: get secret "admin-vcap-services" in namespace "shop"`},
	}, {
		name: "an image pull Secret is not given to the pod's processes",
		app:  v1alpha1.AppSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}}},
		env:  []corev1.EnvVar{{Name: "AUTH", ValueFrom: secretKey("registry", ".dockerconfigjson")}},
		want: []string{`spec.env[0].valueFrom.secretKeyRef.name: get secret "registry" in namespace "shop"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: tt.app}
			task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "migrate"},
				Spec: v1alpha1.TaskSpec{AppRef: v1alpha1.AppReference{Name: "web"}, Env: tt.env}}
			if diff := cmp.Diff(tt.want, needStrings(TaskNeeds(task, app))); diff != "" {
				t.Errorf("TaskNeeds() (-want +got):\n%s", diff)
			}
		})
	}
}
