package facts

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/policy"
)

// PolicySource returns the policy in force; *policy.Store is one.
type PolicySource interface {
	Current() *policy.Policy
}

var _ PolicySource = (*policy.Store)(nil)

// Decided is told every policy decision, for metrics.
type Decided func(kind policy.ObjectKind, rule string, outcome policy.Outcome)

// Report tells d of a decision; a nil Decided is told nothing.
func (d Decided) Report(kind policy.ObjectKind, rule string, outcome policy.Outcome) {
	if d != nil {
		d(kind, rule, outcome)
	}
}

// Object gathers what TTL policy needs to know about a Job or Task: its
// kind, namespace and the namespace's labels, its labels and annotations,
// the kind of its controller, and its ttlSecondsAfterFinished now.
func Object(kind policy.ObjectKind, meta *metav1.ObjectMeta, nsLabels map[string]string, ttl *int32) policy.ObjectFacts {
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

// ReadNamespace reads a namespace through r, a cache or the API server.
// Its error wraps the reader's, so apierrors.IsNotFound still tells a
// namespace that is gone.
func ReadNamespace(ctx context.Context, r client.Reader, name string) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return ns, nil
}

// NamespaceLabels returns a namespace's labels, for rules that select
// namespaces by label. The manager backs it with its informer cache.
type NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)

// Get returns the namespace's labels, or none for a nil NamespaceLabels.
func (f NamespaceLabels) Get(ctx context.Context, namespace string) (map[string]string, error) {
	if f == nil {
		return nil, nil
	}
	return f(ctx, namespace)
}

// NamespaceLabelsFrom reads namespace labels through r.
func NamespaceLabelsFrom(r client.Reader) NamespaceLabels {
	return func(ctx context.Context, namespace string) (map[string]string, error) {
		ns, err := ReadNamespace(ctx, r, namespace)
		if err != nil {
			return nil, err
		}
		return ns.Labels, nil
	}
}

// NamespaceUID returns a namespace's UID. The manager backs it with its
// informer cache.
type NamespaceUID func(ctx context.Context, namespace string) (types.UID, error)

// Get returns the namespace's UID, or "" for a nil NamespaceUID.
func (f NamespaceUID) Get(ctx context.Context, namespace string) (types.UID, error) {
	if f == nil {
		return "", nil
	}
	return f(ctx, namespace)
}

// NamespaceUIDFrom reads namespace UIDs through r.
func NamespaceUIDFrom(r client.Reader) NamespaceUID {
	return func(ctx context.Context, namespace string) (types.UID, error) {
		ns, err := ReadNamespace(ctx, r, namespace)
		if err != nil {
			return "", err
		}
		return ns.UID, nil
	}
}

// CachedFirst reads through cached and, for an object cached has not seen,
// through live. Admission reads namespaces from the manager's cache, which
// sees a new namespace a moment after it is created: an App or Task sent
// in that moment (kubectl apply of a namespace and its App) must not be
// refused for it.
func CachedFirst(cached, live client.Reader) client.Reader {
	return cachedFirst{cached: cached, live: live}
}

type cachedFirst struct{ cached, live client.Reader }

func (r cachedFirst) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.cached.Get(ctx, key, obj, opts...)
	if apierrors.IsNotFound(err) {
		return r.live.Get(ctx, key, obj, opts...)
	}
	return err
}

func (r cachedFirst) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return r.cached.List(ctx, list, opts...)
}
