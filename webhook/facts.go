package webhook

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/policy"
)

// PolicySource returns the policy in force; *policy.Store is one.
type PolicySource interface {
	Current() *policy.Policy
}

// NamespaceLabels returns a namespace's labels, for rules that select
// namespaces by label. The manager backs it with its informer cache.
type NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)

// CachedNamespaceLabels reads namespace labels through a (cached) reader.
func CachedNamespaceLabels(r client.Reader) NamespaceLabels {
	return func(ctx context.Context, namespace string) (map[string]string, error) {
		ns := &corev1.Namespace{}
		if err := r.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
			return nil, fmt.Errorf("reading namespace %s: %w", namespace, err)
		}
		return ns.Labels, nil
	}
}

// NamespaceUID returns a namespace's UID. The manager backs it with its
// informer cache.
type NamespaceUID func(ctx context.Context, namespace string) (types.UID, error)

// get is the namespace's UID, or "" for a nil NamespaceUID.
func (f NamespaceUID) get(ctx context.Context, namespace string) (types.UID, error) {
	if f == nil {
		return "", nil
	}
	return f(ctx, namespace)
}

// CachedNamespaceUID reads namespace UIDs through a (cached) reader.
func CachedNamespaceUID(r client.Reader) NamespaceUID {
	return func(ctx context.Context, namespace string) (types.UID, error) {
		ns := &corev1.Namespace{}
		if err := r.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
			return "", fmt.Errorf("reading namespace %s: %w", namespace, err)
		}
		return ns.UID, nil
	}
}

// objectFacts gathers what TTL policy needs to know about an object.
func objectFacts(kind policy.ObjectKind, meta *metav1.ObjectMeta, nsLabels map[string]string, ttl *int32) policy.ObjectFacts {
	f := policy.ObjectFacts{
		Kind:            kind,
		Namespace:       meta.Namespace,
		NamespaceLabels: nsLabels,
		Labels:          meta.Labels,
		Annotations:     meta.Annotations,
		TTL:             ttl,
	}
	if owner := metav1.GetControllerOfNoCopy(meta); owner != nil {
		f.OwnerKind = owner.Kind
	}
	return f
}
