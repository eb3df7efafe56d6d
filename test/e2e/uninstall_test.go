package e2e

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/uninstall"
)

// TestUninstallRemovesOnlyWhatCertManagerIssued runs what the chart's
// post-delete hook runs against a namespace holding the leftovers and
// look-alikes: the Lease goes, and of the Secrets only those cert-manager
// issued for the named Certificate; an admin's Secret under the same name,
// or one issued for another Certificate, stays. Names that are already gone
// are not an error.
func TestUninstallRemovesOnlyWhatCertManagerIssued(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	ctx := context.Background()
	issued := func(name, certificate string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if certificate != "" {
			s.Annotations = map[string]string{uninstall.CertificateNameAnnotation: certificate}
		}
		return s
	}
	for _, obj := range []client.Object{
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taskgate-manager"}},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-elses"}},
		issued("taskgate-ca", "taskgate-ca"),
		issued("taskgate-webhook-tls", ""),         // the admin's, not cert-manager's
		issued("other-tls", "another-certificate"), // issued for another Certificate
		issued("unrelated", "taskgate-webhook"),    // not named
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s: %v", obj.GetName(), err)
		}
	}
	err := uninstall.Remove(ctx, c, uninstall.Leftovers{
		Namespace:    ns,
		Leases:       []string{"taskgate-manager", "gone-already"},
		Certificates: []string{"taskgate-ca", "taskgate-webhook", "taskgate-metrics"},
		Secrets:      []string{"taskgate-ca", "taskgate-webhook-tls", "other-tls"},
	}, logr.Discard())
	if err != nil {
		t.Fatalf("uninstall.Remove: %v", err)
	}
	var leases coordinationv1.LeaseList
	var secrets corev1.SecretList
	if err := c.List(ctx, &leases, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &secrets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, l := range leases.Items {
		left = append(left, "Lease "+l.Name)
	}
	for _, s := range secrets.Items {
		left = append(left, "Secret "+s.Name)
	}
	sort.Strings(left)
	want := []string{"Lease someone-elses", "Secret other-tls", "Secret taskgate-webhook-tls", "Secret unrelated"}
	if !slices.Equal(left, want) {
		t.Fatalf("after uninstall.Remove the namespace holds %v, want %v", left, want)
	}

	err = uninstall.Remove(ctx, c, uninstall.Leftovers{Namespace: ns, Certificates: []string{"a"}}, logr.Discard())
	if want := "1 certificates for 0 secrets: give one --certificate per --secret"; err == nil || err.Error() != want {
		t.Fatalf("uninstall.Remove with unpaired certificates: %v, want %q", err, want)
	}
}
