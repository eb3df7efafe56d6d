// Package bench measures taskgate on a local control plane, side by side
// with the baseline each figure is judged against, in the same run on the
// same machine: admission latency with no webhook, with taskgate's webhook,
// with the same mutation as a MutatingAdmissionPolicy and with taskgate's
// generated admission policies, and the share of Jobs that still get their
// TTL while the manager is stopped; the admission
// handlers' own cost; Task throughput against PipelineRuns created
// directly; cap convergence; a Task's time to start and finish its
// process on a real node against a bare PipelineRun of the same step; and
// the manager's memory with many Jobs and Tasks cached. `make bench` runs
// it through test/cmd/bench.
//
// Each figure has its own files: <figure>.go measures it (admission,
// handlers, throughput, cap, realnode, memory), and <figure>_report.go
// turns its results into the report's rows, table-tested beside it.
// admission_setups.go and fixedpatch.go put the admission setups in place,
// admission_stopped.go creates Jobs with the manager stopped,
// memory_fill.go fills the cluster for the memory figure, and cpu.go reads
// each process's CPU time for the throughput figure. Several figures share
// watch.go (Tasks and PipelineRuns as they run), apiserver.go
// (kube-apiserver's metrics) and profile.go (CPU and heap profiles);
// env.go starts the cluster and the manager, run.go runs the figures, and
// report.go, stats.go and plot.go render what they found.
//
// Machines are noisy: every figure is repeated where it is cheap to, and
// reported as a median with its spread. Nothing here asserts a timing; the
// report says which targets were met.
package bench
