package manager

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/jobadmission"
	"github.com/taskgate/taskgate/policy"
)

// The JobTTLParams the chart's admission policies read: the manager writes
// it, in its own namespace, and nothing else.
// +kubebuilder:rbac:groups=taskgate.dev,resources=jobttlparams,verbs=get;create;update,namespace=taskgate-system

// jobTTLParamsWriter keeps the JobTTLParams in step with the policy in
// force, for the admission policies that give new Jobs their TTL inside
// kube-apiserver (the chart's jobAdmission: policy). It writes when the
// loader puts a policy in force and, to put back a hand edit, every
// resync; it reads the object live, as it is not watched, and writes only
// what differs.
type jobTTLParamsWriter struct {
	store  *policy.Store
	loaded func() bool
	client client.Client
	reader client.Reader
	// key is the JobTTLParams; configMap the policy ConfigMap, which owns
	// it so that uninstalling the chart deletes it.
	key, configMap types.NamespacedName
	resync         time.Duration
	changed        chan struct{}
	recorder       recorder.EventRecorder
	log            logr.Logger
}

func newJobTTLParamsWriter(store *policy.Store, loaded func() bool, c client.Client, r client.Reader, namespace, configMap string,
	rec recorder.EventRecorder, log logr.Logger) *jobTTLParamsWriter {
	return &jobTTLParamsWriter{
		store: store, loaded: loaded, client: c, reader: r,
		key:       types.NamespacedName{Namespace: namespace, Name: taskgatev1alpha1.JobTTLParamsName},
		configMap: types.NamespacedName{Namespace: namespace, Name: configMap},
		resync:    time.Minute, changed: make(chan struct{}, 1), recorder: rec, log: log,
	}
}

// NeedLeaderElection is true: one replica writes.
func (w *jobTTLParamsWriter) NeedLeaderElection() bool { return true }

// policyChanged tells the writer a policy was put in force; it never
// blocks the loader.
func (w *jobTTLParamsWriter) policyChanged() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Start writes at once, on every policy change and every resync.
func (w *jobTTLParamsWriter) Start(ctx context.Context) error {
	tick := time.NewTicker(w.resync)
	defer tick.Stop()
	for {
		if err := w.write(ctx); err != nil {
			w.log.Error(err, "Writing the Job TTL admission parameters failed; new Jobs keep the last ones written", "JobTTLParams", klog.KRef(w.key.Namespace, w.key.Name))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.changed:
		case <-tick.C:
		}
	}
}

// write puts the policy in force into the JobTTLParams. Before a policy
// has loaded it writes nothing: the defaults it would write meanwhile
// have no rules, and would leave Jobs created then without a TTL.
func (w *jobTTLParamsWriter) write(ctx context.Context) error {
	if !w.loaded() {
		return nil
	}
	spec, errs := jobadmission.Params(w.store.Current())
	if len(errs) > 0 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: w.configMap.Namespace, Name: w.configMap.Name}}
		w.recorder.Eventf(cm, nil, corev1.EventTypeWarning, "JobAdmissionNotCompiled", "Compile",
			"The policy does not fit the admission policies that set new Jobs' TTLs; they keep the last one that did: %s", errs.ToAggregate().Error())
		return fmt.Errorf("compiling the policy for admission: %w", errs.ToAggregate())
	}
	labels := jobadmission.Labels(spec)
	live := &taskgatev1alpha1.JobTTLParams{}
	switch err := w.reader.Get(ctx, w.key, live); {
	case apierrors.IsNotFound(err):
		params := &taskgatev1alpha1.JobTTLParams{ObjectMeta: metav1.ObjectMeta{
			Namespace: w.key.Namespace, Name: w.key.Name, Labels: labels,
		}, Spec: spec}
		if err := w.ownedByConfigMap(ctx, params); err != nil {
			return err
		}
		if err := w.client.Create(ctx, params); err != nil {
			return fmt.Errorf("creating %s: %w", w.key, err)
		}
		w.log.Info("Job TTL admission parameters written", "JobTTLParams", klog.KObj(params), "rules", len(spec.Rules))
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", w.key, err)
	}
	if equality.Semantic.DeepEqual(live.Spec, spec) && maps.Equal(live.Labels, labels) {
		return nil
	}
	live.Spec, live.Labels = spec, labels
	if err := w.client.Update(ctx, live); err != nil {
		return fmt.Errorf("updating %s: %w", w.key, err)
	}
	w.log.Info("Job TTL admission parameters written", "JobTTLParams", klog.KObj(live), "rules", len(spec.Rules))
	return nil
}

// ownedByConfigMap makes the policy ConfigMap, when there is one, the
// params' owner, so they go with the chart.
func (w *jobTTLParamsWriter) ownedByConfigMap(ctx context.Context, params *taskgatev1alpha1.JobTTLParams) error {
	cm := &metav1.PartialObjectMetadata{}
	cm.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	switch err := w.reader.Get(ctx, w.configMap, cm); {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading the policy ConfigMap %s: %w", w.configMap, err)
	}
	// Not blockOwnerDeletion: deleting the ConfigMap (the defaults then
	// apply) must not wait on the params.
	params.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID}}
	return nil
}
