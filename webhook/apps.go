package webhook

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// AppGetter finds the App a Task or Job names. It returns nil, nil when
// the App does not exist.
type AppGetter func(ctx context.Context, namespace, name string) (*v1alpha1.App, error)

// CachedApps reads Apps from the informer cache and, on a miss, from the
// API server: an App and its first Task applied together (kubectl apply -f
// dir/) reach the webhook before the cache has seen the App.
func CachedApps(cached, live client.Reader) AppGetter {
	return func(ctx context.Context, namespace, name string) (*v1alpha1.App, error) {
		key := types.NamespacedName{Namespace: namespace, Name: name}
		app := &v1alpha1.App{}
		err := cached.Get(ctx, key, app)
		if apierrors.IsNotFound(err) {
			err = live.Get(ctx, key, app)
		}
		switch {
		case apierrors.IsNotFound(err):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading App %s: %w", key, err)
		}
		return app, nil
	}
}
