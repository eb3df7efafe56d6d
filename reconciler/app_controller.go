package reconciler

import (
	"context"
	"encoding/json"
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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/inherit"
)

// AppReconciler keeps each App's VCAP_SERVICES Secret in step with the
// Secrets its bindings name, and reports whether those exist.
type AppReconciler struct {
	Client client.Client
	// APIReader reads the bound Secrets one by one: taskgate never lists
	// or watches Secrets, so it reads only those an App names.
	APIReader client.Reader
	// Resync is how often bound Secrets are read again, since they are
	// not watched.
	Resync time.Duration
}

// Secrets: get the Secrets an App's bindings name (one GET each, never
// list or watch), and create and update the App's own
// <app>-vcap-services Secret, which Task pods reference for VCAP_SERVICES.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps,verbs=get;list;watch
// +kubebuilder:rbac:groups=taskgate.dev,resources=apps/status,verbs=patch

// ConditionReady is the App condition that says its bindings resolve.
const ConditionReady = "Ready"

// Reconcile updates one App's VCAP_SERVICES Secret and Ready condition.
func (r *AppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &v1alpha1.App{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	services, missing, err := r.readBindings(ctx, app)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(app.Spec.ServiceBindings) > 0 {
		if err := r.writeVCAPServices(ctx, app, services); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.updateStatus(ctx, app, missing); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.Resync}, nil
}

// vcapService is one entry of VCAP_SERVICES, as Cloud Foundry renders a
// user-provided service.
type vcapService struct {
	Name         string            `json:"name"`
	InstanceName string            `json:"instance_name"`
	BindingName  string            `json:"binding_name"`
	Label        string            `json:"label"`
	Tags         []string          `json:"tags"`
	Credentials  map[string]string `json:"credentials"`
}

func (r *AppReconciler) readBindings(ctx context.Context, app *v1alpha1.App) (map[string][]vcapService, []string, error) {
	services := map[string][]vcapService{}
	var missing []string
	for _, b := range app.Spec.ServiceBindings {
		secret := &corev1.Secret{}
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: b.SecretName}, secret)
		if apierrors.IsNotFound(err) {
			missing = append(missing, b.SecretName)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading Secret %s of binding %s: %w", b.SecretName, b.Name, err)
		}
		creds := make(map[string]string, len(secret.Data))
		for k, v := range secret.Data {
			creds[k] = string(v)
		}
		label := "user-provided"
		if t := creds["type"]; t != "" {
			label = t
		}
		services[label] = append(services[label], vcapService{
			Name: b.Name, InstanceName: b.Name, BindingName: b.Name, Label: label, Tags: []string{}, Credentials: creds,
		})
	}
	return services, missing, nil
}

func (r *AppReconciler) writeVCAPServices(ctx context.Context, app *v1alpha1.App, services map[string][]vcapService) error {
	data, err := json.Marshal(services)
	if err != nil {
		return fmt.Errorf("rendering VCAP_SERVICES: %w", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: inherit.VCAPSecretName(app.Name)}}
	err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), secret)
	switch {
	case apierrors.IsNotFound(err):
		secret.Labels = map[string]string{v1alpha1.LabelApp: app.Name}
		secret.Data = map[string][]byte{inherit.VCAPServicesKey: data}
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
	if string(secret.Data[inherit.VCAPServicesKey]) == string(data) {
		return nil
	}
	secret.Data = map[string][]byte{inherit.VCAPServicesKey: data}
	if err := r.Client.Update(ctx, secret); err != nil {
		return fmt.Errorf("updating VCAP_SERVICES Secret: %w", err)
	}
	return nil
}

func (r *AppReconciler) updateStatus(ctx context.Context, app *v1alpha1.App, missing []string) error {
	before := app.DeepCopy()
	cond := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: "BindingsResolved",
		Message: "Every binding's Secret exists", ObservedGeneration: app.Generation}
	if len(missing) > 0 {
		slices.Sort(missing)
		cond.Status, cond.Reason = metav1.ConditionFalse, "SecretNotFound"
		cond.Message = fmt.Sprintf("Binding Secrets not found in namespace %s: %s; create them, or Tasks start without those credentials",
			app.Namespace, strings.Join(missing, ", "))
	}
	meta.SetStatusCondition(&app.Status.Conditions, cond)
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

// SetupWithManager watches Apps and the VCAP_SERVICES Secrets they own.
func (r *AppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("app").
		For(&v1alpha1.App{}).
		Complete(r)
}
