package manager

import (
	"context"
	"errors"
	"slices"
	"testing"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// recordingLock records which writes reached the Lease.
type recordingLock struct {
	resourcelock.Interface
	writes []string
}

func (l *recordingLock) Create(context.Context, resourcelock.LeaderElectionRecord) error {
	l.writes = append(l.writes, "create")
	return nil
}

func (l *recordingLock) Update(context.Context, resourcelock.LeaderElectionRecord) error {
	l.writes = append(l.writes, "update")
	return nil
}

func TestPolicyGatedLock(t *testing.T) {
	for _, tt := range []struct {
		name    string
		loaded  bool
		wantErr error
		want    []string
	}{
		{"no policy loaded: the Lease is neither taken nor created", false, errPolicyNotLoaded, nil},
		{"a policy loaded: taken and renewed", true, nil, []string{"create", "update"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inner := &recordingLock{}
			lock := policyGatedLock{Interface: inner, loaded: func() bool { return tt.loaded }}
			if err := lock.Create(context.Background(), resourcelock.LeaderElectionRecord{}); !errors.Is(err, tt.wantErr) {
				t.Errorf("Create: %v, want %v", err, tt.wantErr)
			}
			if err := lock.Update(context.Background(), resourcelock.LeaderElectionRecord{}); !errors.Is(err, tt.wantErr) {
				t.Errorf("Update: %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(inner.writes, tt.want) {
				t.Errorf("writes reaching the Lease: %v, want %v", inner.writes, tt.want)
			}
		})
	}
}
