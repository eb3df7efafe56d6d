package taskcli

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// errTaskDeleted says that the Task being watched was deleted.
var errTaskDeleted = errors.New("the Task was deleted")

// taskListWatch lists and watches the one Task named name in namespace,
// by a metadata.name field selector, so that a wait costs one watch and
// no polling.
func (o *Options) taskListWatch(namespace, name string) *cache.ListWatch {
	selector := client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list := &v1alpha1.TaskList{}
			err := o.client.List(ctx, list, &client.ListOptions{Raw: &opts}, client.InNamespace(namespace), selector)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return o.client.Watch(ctx, &v1alpha1.TaskList{}, &client.ListOptions{Raw: &opts}, client.InNamespace(namespace), selector)
		},
	}
}

// untilTask watches the Task t names and calls done with every version of
// it, the current one first, until done returns true. It returns the last
// version seen, which is t when none was; errTaskDeleted if the Task goes
// away; and ctx's error when ctx ends first.
func (o *Options) untilTask(ctx context.Context, t *v1alpha1.Task, done func(*v1alpha1.Task) bool) (*v1alpha1.Task, error) {
	last := t
	// A reflector retries a refused list or watch for ever; a user who
	// may not watch Tasks should hear so at once instead.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	refused := make(chan error, 1)
	refuse := func(err error) {
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			select {
			case refused <- err:
			default:
			}
			cancel()
		}
	}
	lw := o.taskListWatch(t.Namespace, t.Name)
	list, watchFunc := lw.ListWithContextFunc, lw.WatchFuncWithContext
	lw.ListWithContextFunc = func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		obj, err := list(ctx, opts)
		refuse(err)
		return obj, err
	}
	lw.WatchFuncWithContext = func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		w, err := watchFunc(ctx, opts)
		refuse(err)
		return w, err
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &v1alpha1.Task{}, nil,
		func(ev watch.Event) (bool, error) {
			switch ev.Type {
			case watch.Deleted:
				return false, errTaskDeleted
			case watch.Added, watch.Modified:
				task, ok := ev.Object.(*v1alpha1.Task)
				if !ok {
					return false, fmt.Errorf("watching Task %s: unexpected %T", t.Name, ev.Object)
				}
				last = task
				return done(task), nil
			}
			return false, nil
		})
	select {
	case err := <-refused:
		return last, fmt.Errorf("watching Task %s, which waiting needs: %w", t.Name, err)
	default:
	}
	if err != nil && ctx.Err() != nil {
		// UntilWithSync reports a timeout in words of its own.
		return last, ctx.Err()
	}
	return last, err
}
