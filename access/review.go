package access

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// Reviewer tells which of a request's needs its sender lacks. Webhooks take
// one as a collaborator; SubjectAccessReviewer is the API server's answer.
type Reviewer interface {
	Missing(ctx context.Context, requester user.Info, needs []Need) ([]Need, error)
}

// Cache lifetimes of the API server's answers. They are short so that a
// permission granted or revoked counts within seconds, and a denial
// shorter still, so that the fix ("ask for that permission") is seen soon.
const (
	AllowCacheTTL = 10 * time.Second
	DenyCacheTTL  = 5 * time.Second
)

// SubjectAccessReviewer asks the API server with SubjectAccessReviews,
// through the delegating authorizer aggregated API servers use, which
// caches each answer by the whole review (user, groups, UID, extra and
// attributes).
type SubjectAccessReviewer struct {
	authorizer decider
}

// decider is the part of authorizer.Authorizer the reviewer uses.
type decider interface {
	Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error)
}

var _ Reviewer = &SubjectAccessReviewer{}

// NewSubjectAccessReviewer returns a reviewer that creates
// SubjectAccessReviews with c.
func NewSubjectAccessReviewer(c authorizationv1client.AuthorizationV1Interface) (*SubjectAccessReviewer, error) {
	a, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: c,
		AllowCacheTTL:             AllowCacheTTL,
		DenyCacheTTL:              DenyCacheTTL,
		// A few quick retries: the answer must come well inside the
		// webhook's timeout.
		WebhookRetryBackoff: &wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 3},
	}.New()
	if err != nil {
		return nil, fmt.Errorf("creating SubjectAccessReview authorizer: %w", err)
	}
	return &SubjectAccessReviewer{authorizer: a}, nil
}

// Missing returns the needs requester is not allowed, in order. A need
// the API server has no opinion on is missing, as RBAC denies by default.
func (r *SubjectAccessReviewer) Missing(ctx context.Context, requester user.Info, needs []Need) ([]Need, error) {
	var missing []Need
	for _, n := range needs {
		decision, _, err := r.authorizer.Authorize(ctx, authorizer.AttributesRecord{
			User:            requester,
			Verb:            n.Verb,
			Namespace:       n.Namespace,
			APIGroup:        n.Group,
			APIVersion:      apiVersion(n.Group),
			Resource:        n.Resource,
			Name:            n.Name,
			ResourceRequest: true,
		})
		if err != nil {
			return nil, fmt.Errorf("reviewing whether %s may %s: %w", requester.GetName(), n.Permission(), err)
		}
		if decision != authorizer.DecisionAllow {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// apiVersion is the version a review names: RBAC rules name no version,
// so any of the group's does.
func apiVersion(group string) string {
	if group == "" {
		return "v1"
	}
	return "*"
}

// Requester is the user an admission request came from, with everything
// the authorizer may decide on: name, UID, groups and extra (scopes, for
// instance).
func Requester(u authenticationv1.UserInfo) user.Info {
	info := &user.DefaultInfo{Name: u.Username, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = make(map[string][]string, len(u.Extra))
		for k, v := range u.Extra {
			info.Extra[k] = []string(v)
		}
	}
	return info
}
