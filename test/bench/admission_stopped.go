package bench

import (
	"context"
	"errors"
	"fmt"
)

// managerStoppedJobs is how many Jobs each of taskgate's policy and its
// webhook admits while the manager is stopped.
const managerStoppedJobs = 200

// ManagerStoppedResult is how many of Jobs created while the manager was
// stopped got the creation TTL through taskgate's generated policies and
// through its Job webhook.
type ManagerStoppedResult struct {
	Jobs                  int
	PolicyTTL, WebhookTTL int
}

// ManagerStopped stops the manager, creates jobs Jobs in a namespace of the
// taskgate policy setup and as many in one of taskgate's webhook, taking
// turns, and counts those admitted with the creation TTL; then it starts
// the manager again, so later figures find it as Setup left it. Both
// setups are checked to give the TTL before the manager stops. It needs
// the setups in place, as Admission puts them.
func (e *Env) ManagerStopped(ctx context.Context, jobs int) (res *ManagerStoppedResult, err error) {
	keys := []string{keyTaskgatePolicy, keyHook}
	names := []string{SetupTaskgatePolicy, SetupHook}
	namespaces := make([]string, len(keys))
	for i, key := range keys {
		namespaces[i] = "bench-admission-stopped-" + key
		if err := e.createNamespace(ctx, namespaces[i], map[string]string{setupLabel: key}); err != nil {
			return nil, err
		}
		// The App's webhook fails closed: create it while the manager
		// serves.
		if err := e.createApp(ctx, namespaces[i]); err != nil {
			return nil, err
		}
		if err := e.waitForAdmission(ctx, namespaces[i], names[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
	}
	e.manager.Stop()
	e.manager = nil
	defer func() {
		m, serr := e.StartManager(ctx)
		e.manager = m
		if serr != nil {
			err = errors.Join(err, fmt.Errorf("starting the manager again: %w", serr))
			return
		}
		for _, ns := range namespaces {
			if derr := e.deleteNamespace(ctx, ns); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	withTTL := make([]int, len(keys))
	for n := range jobs {
		for k := range keys {
			i := (n + k) % len(keys)
			job := benchJob(namespaces[i], fmt.Sprintf("job-%05d", n))
			if err := e.Client.Create(ctx, job); err != nil {
				return nil, fmt.Errorf("%s: creating Job %d: %w", names[i], n, err)
			}
			if hasCreationTTL(job) {
				withTTL[i]++
			}
		}
	}
	return &ManagerStoppedResult{Jobs: jobs, PolicyTTL: withTTL[0], WebhookTTL: withTTL[1]}, nil
}
