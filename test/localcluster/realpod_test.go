package localcluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCheckStatusWriters(t *testing.T) {
	entry := func(manager, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Subresource: "status", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	kubelet := entry("kubelet", `{"f:status":{"f:containerStatuses":{},"f:phase":{}}}`)
	for _, tc := range []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    string
	}{
		{"kubelet alone", []metav1.ManagedFieldsEntry{kubelet}, ""},
		{"the scheduler's PodScheduled condition", []metav1.ManagedFieldsEntry{
			entry("kube-scheduler", `{"f:status":{"f:conditions":{".":{},"k:{\"type\":\"PodScheduled\"}":{".":{},"f:message":{}}}}}`), kubelet,
		}, ""},
		{"the scheduler's container status", []metav1.ManagedFieldsEntry{
			entry("kube-scheduler", `{"f:status":{"f:containerStatuses":{}}}`), kubelet,
		}, `kube-scheduler owns status fields [f:containerStatuses] (<nil>), want only [f:conditions/. f:conditions/k:{"type":"PodScheduled"} f:nominatedNodeName]`},
		{"kwok", []metav1.ManagedFieldsEntry{kubelet, entry("kwok", `{"f:status":{"f:phase":{}}}`)},
			"the status was written by [kubelet kwok], want kubelet alone (and kube-scheduler's PodScheduled condition)"},
		{"nobody", nil, "the status was written by [], want kubelet"},
		{"a spec writer is not a status writer", []metav1.ManagedFieldsEntry{kubelet, {Manager: "kwok", FieldsV1: metav1.NewFieldsV1(`{}`)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkStatusWriters(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{ManagedFields: tc.entries}})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
