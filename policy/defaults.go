package policy

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The defaults, in one place. testdata/defaults.golden.yaml pins them, and
// docs/policy.md repeats them for admins.
const (
	defaultMinSeconds             int32 = 0
	defaultHookFloorSeconds       int32 = 3600
	defaultCompletionGraceSeconds int32 = 60
	defaultTaskCap                int32 = 500
	defaultTaskTimeout                  = time.Hour
	// Cloud Foundry fails tasks that stay PENDING for 300 s.
	defaultPendingDeadline = 5 * time.Minute
	defaultCPU             = "100m"
	defaultMemory          = "256Mi"
	defaultDisk            = "1Gi"
	// DefaultOptOutLabel is the opt-out label unless the policy names
	// another.
	DefaultOptOutLabel = "taskgate.dev/policy"
)

// Default returns the policy in force when the ConfigMap is absent: no TTL
// rules, so nothing is deleted by TTL, and the task defaults below.
func Default() *Policy {
	p := &Policy{APIVersion: APIVersion, Kind: DocumentKind}
	SetDefaults(p)
	return p
}

// SetDefaults fills every unset field that has a default. It never changes
// a field that is set, so it is idempotent.
func SetDefaults(p *Policy) {
	if p.Mode == "" {
		p.Mode = ModeEnforce
	}

	t := &p.TTL
	if t.Explicit == "" {
		t.Explicit = ExplicitRespect
	}
	setInt32(&t.MinSeconds, defaultMinSeconds)
	setInt32(&t.HookFloorSeconds, defaultHookFloorSeconds)
	setInt32(&t.CompletionGraceSeconds, defaultCompletionGraceSeconds)

	k := &p.Tasks
	setInt32(&k.Cap.Default, defaultTaskCap)
	setQuantity(&k.Resources.Defaults.CPU, defaultCPU)
	setQuantity(&k.Resources.Defaults.Memory, defaultMemory)
	setQuantity(&k.Resources.Defaults.Disk, defaultDisk)
	setDuration(&k.Timeout.Default, defaultTaskTimeout)
	setDuration(&k.PendingDeadline, defaultPendingDeadline)
	if k.PodSecurity == "" {
		// allowPrivileged, the deprecated alias, still means privileged.
		k.PodSecurity = PodSecurityBaseline
		if k.AllowPrivileged {
			k.PodSecurity = PodSecurityPrivileged
		}
	}

	if p.Exemptions.OptOutLabel == "" {
		p.Exemptions.OptOutLabel = DefaultOptOutLabel
	}
}

func setInt32(f **int32, v int32) {
	if *f == nil {
		*f = &v
	}
}

func setQuantity(f **resource.Quantity, v string) {
	if *f == nil {
		q := resource.MustParse(v)
		*f = &q
	}
}

func setDuration(f **metav1.Duration, v time.Duration) {
	if *f == nil {
		*f = &metav1.Duration{Duration: v}
	}
}
