// Package policy owns every cluster-policy decision taskgate makes: the TTL
// a Job or Task gets at creation and when it finishes, which objects are
// exempt, how many Tasks an App keeps, and the resources, timeout and
// privileges a Task may have.
//
// Admins write the policy as YAML in the ConfigMap taskgate-policy, key
// policy.yaml (docs/policy.md describes it). Load turns that into a
// *Policy: strict decoding, explicit defaults, validation into a
// field.ErrorList. A Store keeps the policy in force and the last good one
// when an update fails.
//
// Decisions are pure functions of facts the caller gathers (kind,
// namespace and its labels, labels, annotations, owner, current TTL, times).
// Nothing here reads the cluster, logs or keeps state, so the webhook and
// reconcilers only gather facts, call in, and apply or report the decision.
// Every decision records the rule that made it and an Outcome, for metrics,
// and an Audit flag: in audit mode callers report and change nothing.
//
// Of taskgate's packages it imports only message; it imports no client and
// no logger: FromConfigMap reads a ConfigMap already in hand.
package policy
