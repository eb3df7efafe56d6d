package uninstall

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CertificateNameAnnotation is the annotation cert-manager puts on the
// Secrets it issues, naming their Certificate.
const CertificateNameAnnotation = "cert-manager.io/certificate-name"

// Leftovers are the objects of a release that Helm does not delete.
type Leftovers struct {
	// Namespace is the release namespace.
	Namespace string
	// Leases are the manager's leader-election Leases.
	Leases []string
	// Certificates are the chart's cert-manager Certificates, by name; each
	// one's Secret is named by Secrets at the same index.
	Certificates, Secrets []string
}

// Remove deletes the leftovers that exist, each after a fresh read and
// with its UID as a precondition, so an object made anew under the same
// name meanwhile is never deleted. A Secret is deleted only if cert-manager
// issued it for the expected Certificate: a Secret the admin made under
// that name is not taskgate's to delete.
func Remove(ctx context.Context, c client.Client, l Leftovers, log logr.Logger) error {
	if len(l.Certificates) != len(l.Secrets) {
		return fmt.Errorf("%d certificates for %d secrets: give one --certificate per --secret", len(l.Certificates), len(l.Secrets))
	}
	var errs []error
	for _, name := range l.Leases {
		errs = append(errs, remove(ctx, c, "Lease", &coordinationv1.Lease{}, client.ObjectKey{Namespace: l.Namespace, Name: name}, "", log))
	}
	for i, name := range l.Secrets {
		errs = append(errs, remove(ctx, c, "Secret", &corev1.Secret{}, client.ObjectKey{Namespace: l.Namespace, Name: name}, l.Certificates[i], log))
	}
	return errors.Join(errs...)
}

// remove deletes one object if it exists and, with certificate set, if
// cert-manager issued it for that Certificate.
func remove(ctx context.Context, c client.Client, kind string, obj client.Object, key client.ObjectKey, certificate string, log logr.Logger) error {
	if err := c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading %s %s: %w", kind, key, err)
	}
	if certificate != "" && obj.GetAnnotations()[CertificateNameAnnotation] != certificate {
		log.Info("Keeping a Secret cert-manager did not issue for the chart", "Secret", klog.KObj(obj), "certificate", certificate)
		return nil
	}
	uid := obj.GetUID()
	if err := c.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s: %w", kind, key, err)
	}
	log.Info("Deleted what the release left", kind, klog.KObj(obj))
	return nil
}
