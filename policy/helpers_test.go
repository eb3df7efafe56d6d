package policy

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func qty(s string) *resource.Quantity { return new(resource.MustParse(s)) }

func dur(s string) *metav1.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return &metav1.Duration{Duration: d}
}

// semanticEqual compares policies as the API server would: quantities by
// value, nil and empty lists alike.
func semanticEqual(a, b *Policy) bool { return equality.Semantic.DeepEqual(a, b) }

// load loads a policy from the body of a document, after the header.
func load(t testing.TB, body string) *Policy {
	t.Helper()
	p, err := Load([]byte("apiVersion: taskgate.dev/v1alpha1\nkind: Policy\n" + body))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}
