package facts

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/taskgate/taskgate/policy"
)

func TestObject(t *testing.T) {
	nsLabels := map[string]string{"team": "shop"}
	tests := []struct {
		name string
		meta metav1.ObjectMeta
		want policy.ObjectFacts
	}{{
		name: "a Job its CronJob controls",
		meta: metav1.ObjectMeta{
			Namespace: "shop", Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"b": "2"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "CronJob", Name: "nightly", Controller: ptr.To(true)}},
		},
		want: policy.ObjectFacts{
			Kind: policy.KindJob, Namespace: "shop", NamespaceLabels: nsLabels,
			Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"b": "2"}, OwnerKind: "CronJob", TTL: ptr.To[int32](60),
		},
	}, {
		name: "an owner that is not the controller is no OwnerKind",
		meta: metav1.ObjectMeta{Namespace: "shop", OwnerReferences: []metav1.OwnerReference{{Kind: "App", Name: "shop"}}},
		want: policy.ObjectFacts{Kind: policy.KindJob, Namespace: "shop", NamespaceLabels: nsLabels, TTL: ptr.To[int32](60)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Object(policy.KindJob, &tt.meta, nsLabels, ptr.To[int32](60))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNilHooks(t *testing.T) {
	var d Decided
	d.Report(policy.KindJob, "rule", policy.OutcomeSet) // must not panic
	var uid NamespaceUID
	if got, err := uid.Get(context.Background(), "shop"); got != "" || err != nil {
		t.Fatalf("nil NamespaceUID: got %q, %v; want \"\", nil", got, err)
	}
}
