package reconciler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/binding"
)

func TestReadyCondition(t *testing.T) {
	tests := []struct {
		name             string
		missing, untyped []string
		want             metav1.Condition
	}{{
		name: "every binding resolves",
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "BindingsResolved",
			Message: "Every binding's Secret exists", ObservedGeneration: 3},
	}, {
		name:    "one binding's Secret is missing: the binding is named, not the Secret",
		missing: []string{"db"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SecretNotFound",
			Message: "The Secret of binding db was not found; create it, or Tasks start without those credentials", ObservedGeneration: 3},
	}, {
		name:    "several, in name order",
		missing: []string{"mq", "db"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SecretNotFound",
			Message: "The Secrets of bindings db, mq were not found; create them, or Tasks start without those credentials", ObservedGeneration: 3},
	}, {
		name:    "a missing Secret is said first",
		missing: []string{"db"}, untyped: []string{"mq"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "SecretNotFound",
			Message: "The Secret of binding db was not found; create it, or Tasks start without those credentials", ObservedGeneration: 3},
	}, {
		name:    "a binding without a type",
		untyped: []string{"cache"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "BindingTypeMissing",
			Message: "Binding cache gets no servicebinding.io type, so Tasks see no type file; set type on the binding or add a type key to its Secret", ObservedGeneration: 3},
	}, {
		name:    "bindings without a type, in name order",
		untyped: []string{"mq", "cache"},
		want: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "BindingTypeMissing",
			Message: "Bindings cache, mq get no servicebinding.io type, so Tasks see no type file; set type on each binding or add a type key to its Secret", ObservedGeneration: 3},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readyCondition(3, tt.missing, tt.untyped)); diff != "" {
				t.Errorf("readyCondition() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVCAPSecretData(t *testing.T) {
	bound := []binding.Bound{
		{Binding: v1alpha1.ServiceBinding{Name: "db", SecretName: "db-creds", Provider: "ours"},
			Secret: &corev1.Secret{Data: map[string][]byte{"type": []byte("postgresql"), "provider": []byte("bitnami"), "port": []byte("5432")}}},
		{Binding: v1alpha1.ServiceBinding{Name: "cache", SecretName: "gone", Type: "redis", Provider: "aws"}},
		{Binding: v1alpha1.ServiceBinding{Name: "mq", SecretName: "mq-creds"}, Secret: &corev1.Secret{Type: "servicebinding.io/rabbitmq"}},
	}
	got, err := vcapSecretData(bound)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"VCAP_SERVICES": `{"postgresql":[{"name":"db","instance_name":"db","binding_name":"db","label":"postgresql","plan":"","provider":"bitnami","tags":[],"credentials":{"port":5432},"syslog_drain_url":null,"volume_mounts":[]}],` +
			`"rabbitmq":[{"name":"mq","instance_name":"mq","binding_name":"mq","label":"rabbitmq","plan":"","provider":null,"tags":[],"credentials":{},"syslog_drain_url":null,"volume_mounts":[]}]}`,
		"type.db": "postgresql", "provider.db": "bitnami",
		// A binding whose Secret is missing still gets its own fields' files.
		"type.cache": "redis", "provider.cache": "aws",
		"type.mq": "rabbitmq",
	}
	gotStrings := map[string]string{}
	for k, v := range got {
		gotStrings[k] = string(v)
	}
	if diff := cmp.Diff(want, gotStrings); diff != "" {
		t.Errorf("vcapSecretData() (-want +got):\n%s", diff)
	}
}

func TestUntyped(t *testing.T) {
	bound := []binding.Bound{
		{Binding: v1alpha1.ServiceBinding{Name: "typed-by-key"}, Secret: &corev1.Secret{Data: map[string][]byte{"type": []byte("mysql")}}},
		{Binding: v1alpha1.ServiceBinding{Name: "typed-by-field", Type: "redis"}, Secret: &corev1.Secret{}},
		{Binding: v1alpha1.ServiceBinding{Name: "secret-missing"}},
		{Binding: v1alpha1.ServiceBinding{Name: "bare"}, Secret: &corev1.Secret{Data: map[string][]byte{"host": []byte("h")}}},
	}
	if diff := cmp.Diff([]string{"bare"}, untyped(bound)); diff != "" {
		t.Errorf("untyped() (-want +got):\n%s", diff)
	}
}
