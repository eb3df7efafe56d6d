package binding

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

func secret(typ corev1.SecretType, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{Type: typ, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestTypeAndProvider(t *testing.T) {
	tests := []struct {
		name         string
		binding      v1alpha1.ServiceBinding
		secret       *corev1.Secret
		typ, provide string
	}{
		{"type key wins over Secret type and field",
			v1alpha1.ServiceBinding{Type: "field", Provider: "fieldco"},
			secret("servicebinding.io/mysql", map[string]string{"type": "postgresql", "provider": "bitnami"}), "postgresql", "bitnami"},
		{"Secret type wins over field",
			v1alpha1.ServiceBinding{Type: "field", Provider: "fieldco"},
			secret("servicebinding.io/mysql", nil), "mysql", "fieldco"},
		{"field when the Secret says nothing",
			v1alpha1.ServiceBinding{Type: "redis"}, secret(corev1.SecretTypeOpaque, map[string]string{"host": "h"}), "redis", ""},
		{"blank type key falls through",
			v1alpha1.ServiceBinding{Type: "redis"}, secret(corev1.SecretTypeOpaque, map[string]string{"type": " \n", "provider": ""}), "redis", ""},
		{"type key trimmed of its newline",
			v1alpha1.ServiceBinding{}, secret("", map[string]string{"type": "postgresql\n"}), "postgresql", ""},
		{"bare servicebinding.io/ is no type",
			v1alpha1.ServiceBinding{}, secret("servicebinding.io/", nil), "", ""},
		{"no Secret: the fields",
			v1alpha1.ServiceBinding{Type: "redis", Provider: "aws"}, nil, "redis", "aws"},
		{"nothing", v1alpha1.ServiceBinding{}, secret(corev1.SecretTypeOpaque, nil), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Type(&tt.binding, tt.secret); got != tt.typ {
				t.Errorf("Type = %q, want %q", got, tt.typ)
			}
			if got := Provider(&tt.binding, tt.secret); got != tt.provide {
				t.Errorf("Provider = %q, want %q", got, tt.provide)
			}
		})
	}
}

func TestValidateType(t *testing.T) {
	p := field.NewPath("spec", "serviceBindings").Index(2)
	b := v1alpha1.ServiceBinding{Name: "db", SecretName: "db-creds"}
	if err := ValidateType(&b, secret("servicebinding.io/postgresql", nil), p); err != nil {
		t.Errorf("a Secret of type servicebinding.io/postgresql: %v", err)
	}
	err := ValidateType(&b, secret(corev1.SecretTypeOpaque, map[string]string{"host": "h"}), p)
	want := `spec.serviceBindings[2].type: Required value: binding "db" has no servicebinding.io type: Secret "db-creds" has no "type" key and is not of type servicebinding.io/<type>; set type, such as type: postgresql, or add a type key to the Secret`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestVCAPServices(t *testing.T) {
	tests := []struct {
		name  string
		bound []Bound
		want  string
	}{
		{"none", nil, `{}`},
		{"a missing Secret has no entry",
			[]Bound{{Binding: v1alpha1.ServiceBinding{Name: "db", Type: "postgresql"}}}, `{}`},
		{"Cloud Foundry's shape, type and provider out of credentials, JSON kept",
			[]Bound{{
				Binding: v1alpha1.ServiceBinding{Name: "db", SecretName: "s", Plan: "small", Tags: []string{"postgres", "relational"}},
				Secret: secret(corev1.SecretTypeOpaque, map[string]string{
					"type": "postgresql", "provider": "bitnami", "host": "db.shop", "port": "5432",
					"ssl": "true", "opts": `{"a": [1, 2.50, "x"], "b": null}`, "list": `["r1","r2"]`,
					"negative": "-1", "big": "123456789012345678901234567890",
					"quoted": `"x"`, "null": "null", "padded": " 5", "zip": "007", "broken": `{"a":`, "empty": "",
				}),
			}},
			`{"postgresql":[{"name":"db","instance_name":"db","binding_name":"db","label":"postgresql","plan":"small","provider":"bitnami","tags":["postgres","relational"],` +
				`"credentials":{"big":123456789012345678901234567890,"broken":"{\"a\":","empty":"","host":"db.shop","list":["r1","r2"],"negative":-1,"null":"null",` +
				`"opts":{"a":[1,2.50,"x"],"b":null},"padded":" 5","port":5432,"quoted":"\"x\"","ssl":true,"zip":"007"},` +
				`"syslog_drain_url":null,"volume_mounts":[]}]}`},
		{"keyed by label, in binding order; defaults",
			[]Bound{
				{Binding: v1alpha1.ServiceBinding{Name: "b", Type: "redis"}, Secret: secret(corev1.SecretTypeOpaque, nil)},
				{Binding: v1alpha1.ServiceBinding{Name: "a", Label: "redis", Type: "cache"}, Secret: secret(corev1.SecretTypeOpaque, map[string]string{"k": "v"})},
				{Binding: v1alpha1.ServiceBinding{Name: "c"}, Secret: secret("servicebinding.io/mysql", nil)},
				{Binding: v1alpha1.ServiceBinding{Name: "d"}, Secret: secret(corev1.SecretTypeOpaque, nil)},
			},
			`{"mysql":[{"name":"c","instance_name":"c","binding_name":"c","label":"mysql","plan":"","provider":null,"tags":[],"credentials":{},"syslog_drain_url":null,"volume_mounts":[]}],` +
				`"redis":[{"name":"b","instance_name":"b","binding_name":"b","label":"redis","plan":"","provider":null,"tags":[],"credentials":{},"syslog_drain_url":null,"volume_mounts":[]},` +
				`{"name":"a","instance_name":"a","binding_name":"a","label":"redis","plan":"","provider":null,"tags":[],"credentials":{"k":"v"},"syslog_drain_url":null,"volume_mounts":[]}],` +
				`"user-provided":[{"name":"d","instance_name":"d","binding_name":"d","label":"user-provided","plan":"","provider":null,"tags":[],"credentials":{},"syslog_drain_url":null,"volume_mounts":[]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VCAPServices(tt.bound)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("VCAPServices =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	if got := TypeKey("db"); got != "type.db" {
		t.Errorf("TypeKey = %q", got)
	}
	if got := ProviderKey("db"); got != "provider.db" {
		t.Errorf("ProviderKey = %q", got)
	}
}
