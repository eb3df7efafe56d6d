// Command admissionpolicies writes the chart's Job admission policies,
// package jobadmission's, into charts/taskgate/files/admission, as `make
// generate` runs it; `make verify` fails when they are stale.
//
// It may import jobadmission and nothing else of taskgate.
package main
