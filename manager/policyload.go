package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/taskgate/taskgate/policy"
)

// policyLoader keeps a policy.Store in step with the policy ConfigMap,
// through an informer that watches only that ConfigMap. It runs on every
// replica, leader or not, because every replica admits.
type policyLoader struct {
	store    *policy.Store
	cache    cache.Cache
	key      types.NamespacedName
	recorder recorder.EventRecorder
	metrics  *Metrics
	log      logr.Logger
	// changed, when set, is told each time a policy is put in force.
	changed func()

	// state is the replica's policyState; only load swaps it, and the
	// readiness check reads it.
	state atomic.Pointer[policyState]
}

// NeedLeaderElection is false: every replica needs the policy.
func (l *policyLoader) NeedLeaderElection() bool { return false }

// Start loads the policy once the cache has synced and again on every
// change to the ConfigMap.
func (l *policyLoader) Start(ctx context.Context) error {
	inf, err := l.cache.GetInformer(ctx, &corev1.ConfigMap{})
	if err != nil {
		return fmt.Errorf("watching the policy ConfigMap: %w", err)
	}
	reload := func(any) { l.load(ctx) }
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    reload,
		UpdateFunc: func(_, obj any) { reload(obj) },
		DeleteFunc: reload,
	}); err != nil {
		return fmt.Errorf("watching the policy ConfigMap: %w", err)
	}
	if !l.cache.WaitForCacheSync(ctx) {
		return errors.New("policy ConfigMap cache did not sync")
	}
	// Covers a ConfigMap that does not exist, which sends no event.
	l.load(ctx)
	<-ctx.Done()
	return nil
}

// loaded reports whether a policy, or the defaults for no ConfigMap, has
// loaded since start.
func (l *policyLoader) loaded() bool {
	s := l.state.Load()
	return s != nil && s.enforced != nil
}

// Checker is ready once a policy, or the defaults for no ConfigMap, has
// been loaded. A ConfigMap that exists but has never loaded keeps the
// replica unready, saying why, rather than admitting by the defaults.
func (l *policyLoader) Checker() healthz.Checker {
	return func(*http.Request) error {
		s := l.state.Load()
		if s == nil {
			return errors.New("policy not loaded yet")
		}
		return s.ready()
	}
}

func (l *policyLoader) load(ctx context.Context) {
	cm := &corev1.ConfigMap{}
	obs := policyObservation{key: l.key}
	var p *policy.Policy
	switch err := l.cache.Get(ctx, l.key, cm); {
	case apierrors.IsNotFound(err):
	case err != nil:
		l.log.Error(err, "Reading the policy ConfigMap failed; the last good policy stays in force", "ConfigMap", klog.KRef(l.key.Namespace, l.key.Name))
		return
	default:
		obs.exists, obs.resourceVersion = true, cm.ResourceVersion
		if prev := l.state.Load(); prev != nil && prev.observed != nil && *prev.observed == cm.ResourceVersion {
			return // a resync: the version was already decoded
		}
		p, obs.errs = policy.FromConfigMap(cm)
	}
	prev := l.state.Load()
	if prev == nil {
		prev = &policyState{}
	}
	next, outcome := prev.next(obs)
	l.state.Store(&next)
	switch outcome {
	case policyDefaults:
		l.store.Reset()
		l.notify()
		l.metrics.setPolicyInfo(policySourceDefaults, "")
		l.log.Info("No policy ConfigMap; the documented defaults apply", "ConfigMap", klog.KRef(l.key.Namespace, l.key.Name))
	case policyLoaded:
		l.store.Set(p)
		l.notify()
		l.metrics.setPolicyInfo(policySourceConfigMap, cm.ResourceVersion)
		l.log.Info("Policy loaded", "ConfigMap", klog.KObj(cm), "resourceVersion", cm.ResourceVersion, "mode", l.store.Current().Mode)
		l.recorder.Eventf(cm, nil, corev1.EventTypeNormal, "PolicyLoaded", "Load", "Policy loaded (mode %s)", l.store.Current().Mode)
	case policyKept:
		l.metrics.PolicyReloadErrors.Inc()
		l.log.Error(obs.errs.ToAggregate(), "Invalid policy; the last good policy stays in force", "ConfigMap", klog.KObj(cm), "resourceVersion", cm.ResourceVersion)
		l.recorder.Eventf(cm, nil, corev1.EventTypeWarning, "InvalidPolicy", "Load",
			"Policy not loaded; the last good policy stays in force: %s", obs.errs.ToAggregate().Error())
	case policyUnready:
		l.metrics.PolicyReloadErrors.Inc()
		l.log.Error(obs.errs.ToAggregate(), "Invalid policy and none loaded since start; this replica is not ready until it is fixed", "ConfigMap", klog.KObj(cm), "resourceVersion", cm.ResourceVersion)
		l.recorder.Eventf(cm, nil, corev1.EventTypeWarning, "InvalidPolicy", "Load",
			"Policy not loaded and none has loaded since the manager started, so it is not ready (it never falls back to the defaults): %s", obs.errs.ToAggregate().Error())
	}
}

func (l *policyLoader) notify() {
	if l.changed != nil {
		l.changed()
	}
}
