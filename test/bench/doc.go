// Package bench measures taskgate on a local control plane, side by side
// with the baseline each figure is judged against, in the same run on the
// same machine: admission latency with no webhook, with taskgate's webhook
// and with the same mutation as a MutatingAdmissionPolicy; the admission
// handlers' own cost; Task throughput against PipelineRuns created
// directly; cap convergence; a Task's time to start and finish its
// process on a real node against a bare PipelineRun of the same step; and
// the manager's memory with many Jobs and Tasks cached. `make bench` runs
// it through test/cmd/bench.
//
// Machines are noisy: every figure is repeated where it is cheap to, and
// reported as a median with its spread. Nothing here asserts a timing; the
// report says which targets were met.
package bench
