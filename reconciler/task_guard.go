package reconciler

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
	"github.com/taskgate/taskgate/policy"
)

// ReasonRefused is the Succeeded condition's reason for a Task taskgate
// will not run.
const ReasonRefused = "Refused"

// RunRefusal says why a Task must not run, or "" when it may.
//
// The webhooks already deny such Tasks. This is the second line for a Task
// admitted while they were bypassed (their configurations deleted or
// broken): the reconciler runs spec.resolved as it stands, so it checks
// that the mutating webhook wrote it and that it gives the pod no power
// over its node, before anything runs.
func RunRefusal(task *v1alpha1.Task, p *policy.Policy) string {
	run := task.Spec.Resolved
	if run == nil {
		return "spec.resolved: Required value: the Task was admitted without taskgate's mutating webhook; delete it and create it again"
	}
	path := field.NewPath("spec", "resolved")
	uses := policy.SecurityContextUses(run.SecurityContext, path.Child("securityContext"))
	uses = append(uses, policy.VolumeUses(run.Volumes, path.Child("volumes"))...)
	errs, _ := p.ValidatePrivileges(uses)
	if len(errs) == 0 {
		return ""
	}
	return errs.ToAggregate().Error()
}
