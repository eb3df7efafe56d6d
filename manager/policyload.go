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
	"github.com/taskgate/taskgate/webhook"
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

	// loadedVersion is the ConfigMap resourceVersion last loaded (or ""
	// for "no ConfigMap"), so a resync does not repeat events.
	loadedVersion atomic.Pointer[string]
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

// Checker is ready once a policy, or the defaults for no ConfigMap, has
// been loaded.
func (l *policyLoader) Checker() healthz.Checker {
	return func(*http.Request) error {
		if l.loadedVersion.Load() == nil {
			return errors.New("policy not loaded yet")
		}
		return nil
	}
}

func (l *policyLoader) load(ctx context.Context) {
	cm := &corev1.ConfigMap{}
	err := l.cache.Get(ctx, l.key, cm)
	switch {
	case apierrors.IsNotFound(err):
		if l.swapVersion("") {
			l.store.Reset()
			l.log.Info("No policy ConfigMap; the documented defaults apply", "configMap", l.key)
		}
		return
	case err != nil:
		l.log.Error(err, "Reading the policy ConfigMap failed; the last good policy stays in force", "configMap", l.key)
		return
	}
	if !l.swapVersion(cm.ResourceVersion) {
		return
	}
	p, errs := webhook.LoadPolicy(cm)
	if len(errs) > 0 {
		l.metrics.PolicyReloadErrors.Inc()
		l.log.Error(errs.ToAggregate(), "Invalid policy; the last good policy stays in force", "configMap", klog.KObj(cm))
		l.recorder.Eventf(cm, nil, corev1.EventTypeWarning, "InvalidPolicy", "Load",
			"Policy not loaded; the last good policy stays in force: %s", errs.ToAggregate().Error())
		return
	}
	l.store.Set(p)
	l.log.Info("Policy loaded", "configMap", klog.KObj(cm), "resourceVersion", cm.ResourceVersion, "mode", l.store.Current().Mode)
	l.recorder.Eventf(cm, nil, corev1.EventTypeNormal, "PolicyLoaded", "Load", "Policy loaded (mode %s)", l.store.Current().Mode)
}

// swapVersion records version as loaded and reports whether it is new.
func (l *policyLoader) swapVersion(version string) bool {
	old := l.loadedVersion.Swap(&version)
	return old == nil || *old != version
}
