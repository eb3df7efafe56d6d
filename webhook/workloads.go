package webhook

import (
	"context"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/workload"
)

// Workloads reads the container an App's spec.from names, for a Task of
// the App: nil, nil, nil for an App without spec.from. A workload or
// container that does not exist is a field error at the App's spec.from.
type Workloads func(ctx context.Context, app *v1alpha1.App) (*workload.Container, *field.Error, error)

// ReadWorkloads reads through r, which should be the manager's API reader:
// see package workload.
func ReadWorkloads(r client.Reader) Workloads {
	reader := workload.Reader{Client: r}
	return func(ctx context.Context, app *v1alpha1.App) (*workload.Container, *field.Error, error) {
		if app.Spec.From == nil {
			return nil, nil, nil
		}
		return reader.Read(ctx, app.Namespace, *app.Spec.From, specPath.Child("from"))
	}
}

// read is Workloads, or none read when w is nil: an App with spec.from
// then does not resolve.
func (w Workloads) read(ctx context.Context, app *v1alpha1.App) (*workload.Container, *field.Error, error) {
	if w == nil {
		return nil, nil, nil
	}
	return w(ctx, app)
}
