package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/binding"
	"github.com/taskgate/taskgate/inherit"
)

// AppReconciler keeps each App's VCAP_SERVICES Secret in step with the
// Secrets its bindings name, deletes it when the App has no bindings left,
// and reports whether the bindings resolve.
type AppReconciler struct {
	Client client.Client
	// APIReader reads the bound Secrets, and the App's own VCAP_SERVICES
	// Secret, one GET each. taskgate never lists or watches Secrets.
	APIReader client.Reader
	// Recorder reports the VCAP_SERVICES Secret's removal on the App.
	Recorder recorder.EventRecorder
	// Resync is how often bound Secrets and the VCAP_SERVICES Secret are
	// read again, since they are not watched: a bound Secret's change, or
	// a hand edit of the VCAP_SERVICES Secret, is taken up within it.
	Resync time.Duration
}

// Secrets:
//   - get: the Secrets an App's bindings name, one GET each. The App
//     webhook admits a binding only from someone who may get that Secret.
//   - create, update: the App's own <app>-vcap-services Secret, which Task
//     pods reference for VCAP_SERVICES.
//   - delete: that Secret goes when the App has no bindings left.
//
// Never list or watch: RBAC cannot narrow them to taskgate's own Secrets
// (a label-selected cache narrows only what is held, not what may be
// read), and with them a compromised manager reads every Secret of the
// cluster. So the VCAP_SERVICES Secret is not watched; Resync puts back a
// hand edit.
//
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update;delete
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps,verbs=get;list;watch
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps/status,verbs=patch

// Reconcile updates one App's VCAP_SERVICES Secret and Ready condition.
func (r *AppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &v1alpha1.App{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	bound, missing, err := r.readBindings(ctx, app)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(app.Spec.ServiceBindings) > 0 {
		err = r.writeVCAPServices(ctx, app, bound)
	} else {
		err = r.deleteVCAPServices(ctx, app)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.updateStatus(ctx, app, missing, untyped(bound)); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.Resync}, nil
}

// readBindings returns the App's bindings with their Secrets, nil for a
// Secret that does not exist, and the names of those bindings.
func (r *AppReconciler) readBindings(ctx context.Context, app *v1alpha1.App) ([]binding.Bound, []string, error) {
	var bound []binding.Bound
	var missing []string
	for _, b := range app.Spec.ServiceBindings {
		secret := &corev1.Secret{}
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: b.SecretName}, secret)
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, b.Name)
			secret = nil
		case err != nil:
			return nil, nil, fmt.Errorf("reading Secret %s of binding %s: %w", b.SecretName, b.Name, err)
		}
		bound = append(bound, binding.Bound{Binding: b, Secret: secret})
	}
	return bound, missing, nil
}

// vcapSecretData is the App's VCAP_SERVICES Secret: the document, and each
// binding's resolved type and provider, which its volume projects as the
// type and provider files (see inherit.AppPod). A binding whose Secret is
// missing gets only what its own fields say.
func vcapSecretData(bound []binding.Bound) (map[string][]byte, error) {
	doc, err := binding.VCAPServices(bound)
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{inherit.VCAPServicesKey: doc}
	for i := range bound {
		b := &bound[i].Binding
		if t := binding.Type(b, bound[i].Secret); t != "" {
			data[binding.TypeKey(b.Name)] = []byte(t)
		}
		if p := binding.Provider(b, bound[i].Secret); p != "" {
			data[binding.ProviderKey(b.Name)] = []byte(p)
		}
	}
	return data, nil
}

func (r *AppReconciler) writeVCAPServices(ctx context.Context, app *v1alpha1.App, bound []binding.Bound) error {
	want, err := vcapSecretData(bound)
	if err != nil {
		return err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: inherit.VCAPSecretName(app.Name)}}
	err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), secret)
	switch {
	case apierrors.IsNotFound(err):
		secret.Labels = map[string]string{v1alpha1.LabelApp: app.Name}
		secret.Data = want
		if err := controllerutil.SetControllerReference(app, secret, r.Client.Scheme()); err != nil {
			return fmt.Errorf("owning VCAP_SERVICES Secret: %w", err)
		}
		if err := r.Client.Create(ctx, secret); err != nil {
			return fmt.Errorf("creating VCAP_SERVICES Secret: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading VCAP_SERVICES Secret: %w", err)
	}
	if !metav1.IsControlledBy(secret, app) {
		return fmt.Errorf("secret %s exists and is not App %s's; rename it so taskgate can keep VCAP_SERVICES there", secret.Name, app.Name)
	}
	// The whole Secret is taskgate's: a key or label changed by hand is
	// put back at the next resync.
	if equality.Semantic.DeepEqual(secret.Data, want) && secret.Labels[v1alpha1.LabelApp] == app.Name {
		return nil
	}
	secret.Data = want
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[v1alpha1.LabelApp] = app.Name
	if err := r.Client.Update(ctx, secret); err != nil {
		return fmt.Errorf("updating VCAP_SERVICES Secret: %w", err)
	}
	return nil
}

// deleteVCAPServices removes the App's VCAP_SERVICES Secret once the App
// has no bindings: credentials of bindings that are gone must not stay
// readable in it. It reads the Secret fresh and deletes only the one this
// App controls, by UID, so a Secret recreated meanwhile under the name is
// left alone.
//
// Bindings go only with a spec change, which moves the generation past
// the status' observedGeneration until this pass succeeds; an App whose
// spec has not changed since costs no read on each resync.
func (r *AppReconciler) deleteVCAPServices(ctx context.Context, app *v1alpha1.App) error {
	if app.Generation == app.Status.ObservedGeneration {
		return nil
	}
	key := types.NamespacedName{Namespace: app.Namespace, Name: inherit.VCAPSecretName(app.Name)}
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading VCAP_SERVICES Secret: %w", err)
	}
	if !metav1.IsControlledBy(secret, app) {
		return nil
	}
	err = r.Client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone, or replaced by another Secret that is not ours to delete.
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting VCAP_SERVICES Secret: %w", err)
	}
	log.FromContext(ctx).Info("Deleted VCAP_SERVICES Secret of an App without bindings", "App", klog.KObj(app), "Secret", klog.KObj(secret))
	r.Recorder.Eventf(app, secret, corev1.EventTypeNormal, "VCAPServicesDeleted", "Delete",
		"Secret %s deleted: App %s has no service bindings left", secret.Name, app.Name)
	return nil
}

// untyped returns the bindings whose Secret exists but that get no
// servicebinding.io type: the App webhook refuses them, but a Secret can
// lose its type key afterwards.
func untyped(bound []binding.Bound) []string {
	var names []string
	for i := range bound {
		if b := &bound[i]; b.Secret != nil && binding.Type(&b.Binding, b.Secret) == "" {
			names = append(names, b.Binding.Name)
		}
	}
	return names
}

// readyCondition is the App's Ready condition given the bindings whose
// Secret is missing, then those that get no type. It names bindings, which
// the App's readers can see in its spec anyway, and never Secrets: the
// App's status must not tell its readers which Secrets exist in the
// namespace.
func readyCondition(generation int64, missingBindings, untypedBindings []string) metav1.Condition {
	cond := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.AppReasonBindingsResolved,
		Message: "Every binding's Secret exists", ObservedGeneration: generation}
	if len(missingBindings) > 0 {
		missing := slices.Clone(missingBindings)
		slices.Sort(missing)
		cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.AppReasonSecretNotFound
		cond.Message = fmt.Sprintf("The Secret of binding %s was not found; create it, or Tasks start without those credentials",
			strings.Join(missing, ", "))
		if len(missing) > 1 {
			cond.Message = fmt.Sprintf("The Secrets of bindings %s were not found; create them, or Tasks start without those credentials",
				strings.Join(missing, ", "))
		}
		return cond
	}
	if len(untypedBindings) > 0 {
		names := slices.Clone(untypedBindings)
		slices.Sort(names)
		cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.AppReasonBindingTypeMissing
		cond.Message = fmt.Sprintf("Binding %s gets no servicebinding.io type, so Tasks see no type file; set type on the binding or add a type key to its Secret",
			names[0])
		if len(names) > 1 {
			cond.Message = fmt.Sprintf("Bindings %s get no servicebinding.io type, so Tasks see no type file; set type on each binding or add a type key to its Secret",
				strings.Join(names, ", "))
		}
	}
	return cond
}

func (r *AppReconciler) updateStatus(ctx context.Context, app *v1alpha1.App, missing, untyped []string) error {
	before := app.DeepCopy()
	meta.SetStatusCondition(&app.Status.Conditions, readyCondition(app.Generation, missing, untyped))
	app.Status.ObservedGeneration = app.Generation
	if equality.Semantic.DeepEqual(before.Status, app.Status) {
		return nil
	}
	// The merge patch carries no task ID fields, so it cannot race the
	// Task reconciler's optimistic updates of lastTaskID and
	// pendingTaskIDs.
	if err := r.Client.Status().Patch(ctx, app, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("writing App status: %w", err)
	}
	return nil
}

// SetupWithManager watches Apps. The VCAP_SERVICES Secrets they own are
// not watched: see the RBAC comment above.
func (r *AppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("app").
		For(&v1alpha1.App{}).
		Complete(r)
}
