// Package webhook is taskgate's admission layer: it decodes AdmissionReviews
// for Tasks, Apps, batch/v1 Jobs and the policy ConfigMap, gathers the facts
// the policy needs, calls the pure decisions in package policy and
// translates them into patches, denials and warnings. It decides nothing
// itself.
package webhook
