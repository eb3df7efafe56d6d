package manager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/taskgate/taskgate/access"
	taskgatev1alpha1 "github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/facts"
	"github.com/taskgate/taskgate/imageinspect"
	"github.com/taskgate/taskgate/policy"
	"github.com/taskgate/taskgate/reconciler"
	"github.com/taskgate/taskgate/webhook"
)

// Webhook paths. The chart's webhook configurations point at these.
const (
	PathMutateJob             = "/mutate-batch-v1-job"
	PathMutateTask            = "/mutate-taskgate-dev-v1alpha1-task"
	PathValidateTask          = "/validate-taskgate-dev-v1alpha1-task"
	PathValidateApp           = "/validate-taskgate-dev-v1alpha1-app"
	PathValidateTaskSchedule  = "/validate-taskgate-dev-v1alpha1-taskschedule"
	PathValidatePolicyConfMap = "/validate-policy-configmap"
)

// jobFacts strips a cached Job to what TTL policy reads: metadata without
// managedFields, the TTL and the status conditions. The pod template is
// most of a Job's size and taskgate never reads it from the cache.
func jobFacts(obj any) (any, error) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return obj, nil
	}
	job.ManagedFields = nil
	job.Spec = batchv1.JobSpec{TTLSecondsAfterFinished: job.Spec.TTLSecondsAfterFinished}
	job.Status = batchv1.JobStatus{Conditions: job.Status.Conditions}
	return job, nil
}

// appFacts strips a cached App to what taskgate reads: its spec (Task and
// Job admission resolve from it, on every request, so it stays cached rather
// than read live), labels (cap policy), UID and status (task IDs, the Ready
// condition). Annotations go: nothing reads them, and kubectl's
// last-applied-configuration alone repeats the whole spec. Status writes
// from a stripped copy are safe: the status subresource keeps the stored
// metadata.
func appFacts(obj any) (any, error) {
	app, ok := obj.(*taskgatev1alpha1.App)
	if !ok {
		return obj, nil
	}
	app.ManagedFields = nil
	app.Annotations = nil
	return app, nil
}

// ownRuns selects the PipelineRuns and TaskRuns of Tasks whose outcome is
// still to be recorded. Once a finished Task's status is written, its done
// runs leave the watch: they stay in the cluster, with their pods and logs,
// until the Task goes, but the manager never reads them again.
var ownRuns = labels.SelectorFromSet(nil).Add(
	mustRequirement(taskgatev1alpha1.LabelTask, selection.Exists),
	mustRequirement(taskgatev1alpha1.LabelRunRecorded, selection.DoesNotExist),
)

// undecidedJobs selects the Jobs whose completion TTL is still to be
// decided. A finished Job leaves the watch once it is decided, so a
// cluster's thousands of finished Jobs are not held in memory while their
// TTLs run.
var undecidedJobs = labels.SelectorFromSet(nil).Add(mustRequirement(taskgatev1alpha1.LabelCompletionDecided, selection.DoesNotExist))

func mustRequirement(key string, op selection.Operator) labels.Requirement {
	r, err := labels.NewRequirement(key, op, nil)
	if err != nil {
		panic(err)
	}
	return *r
}

// Scheme returns the types the manager reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, taskgatev1alpha1.AddToScheme, pipelinev1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	return s, nil
}

// Manager is taskgate's controller-runtime manager and the policy it
// decides by.
type Manager struct {
	ctrl.Manager
	Policy  *policy.Store
	Metrics *Metrics

	opts     Options
	draining atomic.Bool
}

// New builds a manager. Run starts it.
func New(cfg *rest.Config, opts Options, log logr.Logger) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.KubeAPIQPS, opts.KubeAPIBurst
	hookServer := crwebhook.NewServer(crwebhook.Options{
		Host: opts.WebhookHost, Port: opts.WebhookPort, CertDir: opts.CertDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS12
			// HTTP/2 stays off: its rapid-reset and stream-exhaustion
			// attacks (CVE-2023-44487, CVE-2023-39325) buy a webhook nothing.
			c.NextProtos = []string{"http/1.1"}
		}},
	})
	// A replica leads only once its policy has loaded (policyGatedLock);
	// the loader, built once the cache exists, says when.
	var loader *policyLoader
	lock, err := newPolicyGatedLock(cfg, opts, func() bool { return loader != nil && loader.loaded() })
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Metrics:                 metricsServerOptions(opts),
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		WebhookServer:           hookServer,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: opts.Namespace,
		LeaseDuration:           &opts.LeaseDuration,
		RenewDeadline:           &opts.RenewDeadline,
		RetryPeriod:             &opts.RetryPeriod,
		// The leader gives up its Lease on shutdown so a standby takes
		// over at once instead of after LeaseDuration.
		LeaderElectionReleaseOnCancel:       true,
		LeaderElectionResourceLockInterface: lock,
		GracefulShutdownTimeout:             &opts.GracefulShutdown,
		Controller:                          config.Controller{SkipNameValidation: &opts.SkipNameValidation},
		// A Secret read through the manager's client goes to the API server:
		// caching Secrets would need list and watch on every Secret of the
		// cluster, which the manager is not granted.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			// Only the watched namespaces, when the chart's namespaced
			// mode grants nothing elsewhere.
			DefaultNamespaces: opts.cacheNamespaces(),
			ByObject: map[client.Object]cache.ByObject{
				// Only the policy ConfigMap, never the cluster's others.
				&corev1.ConfigMap{}: {
					Namespaces: map[string]cache.Config{opts.Namespace: {}},
					Field:      fields.OneTermEqualSelector("metadata.name", opts.PolicyConfigMap),
				},
				// Finished Tasks, most of them, without their pinned run.
				&taskgatev1alpha1.Task{}: {Transform: reconciler.TaskFacts},
				// Every App, bounded by the CRD, without its annotations.
				&taskgatev1alpha1.App{}: {Transform: appFacts},
				// Only the runs taskgate made, not every pipeline in the
				// cluster, and of those only the unrecorded.
				&pipelinev1.PipelineRun{}: {Label: ownRuns, Transform: reconciler.PipelineRunFacts},
				&pipelinev1.TaskRun{}:     {Label: ownRuns, Transform: reconciler.TaskRunFacts},
				// Jobs are many: only those still to be decided, and of
				// those only what TTL policy reads.
				&batchv1.Job{}: {Label: undecidedJobs, Transform: jobFacts},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	m := &Manager{Manager: mgr, Policy: policy.NewStore(opts.Namespace), opts: opts}
	if m.Metrics, err = NewMetrics(metrics.Registry); err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	loader = &policyLoader{
		store:    m.Policy,
		cache:    mgr.GetCache(),
		key:      types.NamespacedName{Namespace: opts.Namespace, Name: opts.PolicyConfigMap},
		recorder: mgr.GetEventRecorder("taskgate"),
		metrics:  m.Metrics,
		log:      log.WithName("policy"),
	}
	if err := mgr.Add(loader); err != nil {
		return nil, fmt.Errorf("adding policy loader: %w", err)
	}
	if opts.JobAdmission == JobAdmissionPolicy {
		w := newJobTTLParamsWriter(m.Policy, loader.loaded, mgr.GetClient(), mgr.GetAPIReader(), opts.Namespace, opts.PolicyConfigMap,
			mgr.GetEventRecorder("taskgate"), log.WithName("jobttlparams"))
		loader.changed = w.policyChanged
		if err := mgr.Add(w); err != nil {
			return nil, fmt.Errorf("adding the Job TTL params writer: %w", err)
		}
		counter := &jobDecisionCounter{cache: mgr.GetCache(), policy: m.Policy, namespaces: facts.NamespaceLabelsFrom(mgr.GetCache()), decided: m.Metrics.decided}
		if err := mgr.Add(counter); err != nil {
			return nil, fmt.Errorf("adding the Job decision counter: %w", err)
		}
	}
	// Asking the manager for its webhook server is what adds it as a
	// runnable.
	hookServer = mgr.GetWebhookServer()
	if err := m.registerWebhooks(hookServer, scheme); err != nil {
		return nil, err
	}
	if err := m.setupReconcilers(); err != nil {
		return nil, err
	}
	for name, check := range map[string]healthz.Checker{
		"webhook":  hookServer.StartedChecker(),
		"policy":   loader.Checker(),
		"caches":   m.cachesSynced,
		"draining": m.notDraining,
	} {
		if err := mgr.AddReadyzCheck(name, check); err != nil {
			return nil, fmt.Errorf("adding readiness check %s: %w", name, err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding liveness check: %w", err)
	}
	return m, nil
}

// SubjectAccessReviews: the App and Task webhooks ask whether the sender
// may create pods and get the Secrets and ConfigMaps the object would give
// its pods, so taskgate lets no one do more than they could with a Pod.
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

func (m *Manager) registerWebhooks(server crwebhook.Server, scheme *runtime.Scheme) error {
	authz, err := authorizationv1client.NewForConfig(m.GetConfig())
	if err != nil {
		return fmt.Errorf("creating SubjectAccessReview client: %w", err)
	}
	reviewer, err := access.NewSubjectAccessReviewer(authz)
	if err != nil {
		return err
	}
	namespaceReader := facts.CachedFirst(m.GetCache(), m.GetAPIReader())
	namespaces := facts.NamespaceLabelsFrom(namespaceReader)
	namespaceUIDs := facts.NamespaceUIDFrom(namespaceReader)
	apps := webhook.CachedApps(m.GetCache(), m.GetAPIReader())
	workloads := webhook.ReadWorkloads(m.GetAPIReader())
	register := func(path string, h http.Handler) { server.Register(path, webhook.RequireReviewV1(h)) }
	register(PathMutateJob, &crwebhook.Admission{Handler: &webhook.JobDefaulter{
		Policy: m.Policy, Namespaces: namespaces, Apps: apps, Decided: m.Metrics.decided,
		TTLByAdmissionPolicies: m.opts.JobAdmission == JobAdmissionPolicy,
	}, RecoverPanic: ptr.To(true)})
	register(PathMutateTask, &crwebhook.Admission{Handler: &webhook.TaskDefaulter{
		Policy: m.Policy, Namespaces: namespaces, NamespaceUIDs: namespaceUIDs, Apps: apps, Decided: m.Metrics.decided,
		Images:      imageinspect.New(imageinspect.Options{Transport: m.opts.RegistryTransport}),
		PullSecrets: webhook.ReadPullSecrets(m.GetAPIReader()),
		Workloads:   workloads,
	}, RecoverPanic: ptr.To(true)})
	register(PathValidateTask, admission.WithValidator(scheme, &webhook.TaskValidator{Policy: m.Policy, Apps: apps, Access: reviewer, Namespaces: namespaces, NamespaceUIDs: namespaceUIDs, Workloads: workloads}))
	register(PathValidateApp, admission.WithValidator(scheme, &webhook.AppValidator{Policy: m.Policy, Access: reviewer, Namespaces: namespaces, Secrets: m.GetAPIReader(), Workloads: workloads}))
	register(PathValidateTaskSchedule, admission.WithValidator(scheme, &webhook.TaskScheduleValidator{
		Policy: m.Policy, Apps: apps, Access: reviewer, Namespaces: namespaces, Workloads: workloads,
		DryRun: func(ctx context.Context, task *taskgatev1alpha1.Task) error {
			return m.GetClient().Create(ctx, task, client.DryRunAll)
		},
	}))
	register(PathValidatePolicyConfMap, admission.WithValidator(scheme, &webhook.PolicyConfigMapValidator{
		Namespace: m.opts.Namespace, Name: m.opts.PolicyConfigMap, JobAdmission: m.opts.JobAdmission == JobAdmissionPolicy,
	}))
	return nil
}

func (m *Manager) setupReconcilers() error {
	namespaces := facts.NamespaceLabelsFrom(m.GetCache())
	tasks := &reconciler.TaskReconciler{
		Client:     m.GetClient(),
		APIReader:  m.GetAPIReader(),
		Policy:     m.Policy,
		Recorder:   m.GetEventRecorder("taskgate"),
		Clock:      clock.RealClock{},
		Namespaces: namespaces,
		Deleted:    m.Metrics.deleted,
		Workers:    m.opts.TaskWorkers,
	}
	if err := tasks.SetupWithManager(m); err != nil {
		return fmt.Errorf("setting up the Task reconciler: %w", err)
	}
	capper := &reconciler.CapReconciler{
		Client: m.GetClient(), APIReader: m.GetAPIReader(), Policy: m.Policy,
		Recorder: m.GetEventRecorder("taskgate"), Deleted: m.Metrics.deleted,
	}
	if err := capper.SetupWithManager(context.Background(), m); err != nil {
		return fmt.Errorf("setting up the cap reconciler: %w", err)
	}
	jobs := &reconciler.JobTTLReconciler{
		Client: m.GetClient(), Policy: m.Policy, Recorder: m.GetEventRecorder("taskgate"),
		Clock: clock.RealClock{}, Namespaces: namespaces, Decided: m.Metrics.decided,
		Workers: m.opts.JobWorkers,
	}
	if err := jobs.SetupWithManager(m); err != nil {
		return fmt.Errorf("setting up the Job TTL reconciler: %w", err)
	}
	apps := &reconciler.AppReconciler{
		Client: m.GetClient(), APIReader: m.GetAPIReader(), Recorder: m.GetEventRecorder("taskgate"), Resync: m.opts.AppResync,
	}
	if err := apps.SetupWithManager(m); err != nil {
		return fmt.Errorf("setting up the App reconciler: %w", err)
	}
	schedules := &reconciler.TaskScheduleReconciler{
		Client: m.GetClient(), APIReader: m.GetAPIReader(), Recorder: m.GetEventRecorder("taskgate"), Clock: clock.RealClock{},
	}
	if err := schedules.SetupWithManager(m); err != nil {
		return fmt.Errorf("setting up the TaskSchedule reconciler: %w", err)
	}
	return nil
}

func (m *Manager) cachesSynced(req *http.Request) error {
	ctx, cancel := context.WithTimeout(req.Context(), time.Second)
	defer cancel()
	if !m.GetCache().WaitForCacheSync(ctx) {
		return errors.New("informer caches not synced")
	}
	return nil
}

func (m *Manager) notDraining(*http.Request) error {
	if m.draining.Load() {
		return errors.New("shutting down")
	}
	return nil
}

// Run runs the manager until ctx ends. It then reports unready for
// ShutdownDrain while still serving, so Service endpoints drop this replica
// before its webhook server stops, and only then stops.
func (m *Manager) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		<-ctx.Done()
		m.draining.Store(true)
		time.Sleep(m.opts.ShutdownDrain)
		cancel()
	}()
	return m.Start(runCtx)
}
