package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// errPolicyNotLoaded is why a replica does not take the Lease.
var errPolicyNotLoaded = errors.New("not taking the leader Lease: no policy has loaded since this replica started (see readyz/policy)")

// policyGatedLock is the leader-election Lease, which a replica may take
// only once its policy has loaded. Unready keeps a replica from admitting,
// but the reconcilers run on whichever replica leads: one that started on
// an invalid policy would otherwise delete Tasks by the built-in cap and
// TTLs instead of the admin's. Renewing is never refused, because a loaded
// policy stays loaded.
type policyGatedLock struct {
	resourcelock.Interface
	loaded func() bool
}

func (l policyGatedLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	if !l.loaded() {
		return errPolicyNotLoaded
	}
	return l.Interface.Create(ctx, ler)
}

func (l policyGatedLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	if !l.loaded() {
		return errPolicyNotLoaded
	}
	return l.Interface.Update(ctx, ler)
}

// newPolicyGatedLock builds the Lease lock as controller-runtime would (its
// identity, its client's timeout), gated on loaded.
func newPolicyGatedLock(cfg *rest.Config, opts Options, loaded func() bool) (resourcelock.Interface, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("naming this replica for leader election: %w", err)
	}
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	// One hung request must not cost the leader its Lease.
	cfg.Timeout = max(opts.RenewDeadline/2, time.Second)
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the leader-election client: %w", err)
	}
	coordination, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the leader-election client: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, opts.Namespace, opts.LeaderElectionID, core, coordination,
		resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
	if err != nil {
		return nil, fmt.Errorf("creating the leader-election lock: %w", err)
	}
	return policyGatedLock{Interface: lock, loaded: loaded}, nil
}
