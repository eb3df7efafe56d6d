// Package workload reads the container of a workload (Deployment,
// StatefulSet, DaemonSet or CronJob) that an App's spec.from names: the
// pod template, the container chosen as kubectl chooses one, and the
// image pinned to the digest the workload's pods report, so a Task runs
// exactly what is deployed.
//
// Choosing the container and pinning the image are pure functions of the
// objects; Reader does the reads, live rather than through a cache,
// because a Task is created far less often than Deployments change, and a
// cluster-wide cache of every workload and pod would cost each manager
// replica their memory. What a Task inherits from the container, and what
// it may not (a PersistentVolumeClaim, say), package inherit decides.
//
// It imports only the API types and Kubernetes' libraries.
package workload
