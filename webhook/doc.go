// Package webhook is taskgate's admission layer: it decodes AdmissionReviews
// for Tasks, Apps, batch/v1 Jobs and the policy ConfigMap, gathers the facts
// the policy needs through package facts, calls the pure decisions in
// packages policy and inherit and translates them into patches, denials and
// warnings. It decides nothing itself.
//
// It must not import reconciler or manager; what the manager also needs
// (the policy from its ConfigMap, namespace readers) lives in policy and
// facts, not here. Logs key objects by Kind with klog.KObj values, as
// package reconciler's doc says.
package webhook
