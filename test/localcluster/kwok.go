package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Pod annotations that script a simulated pod. Tekton copies a
// PipelineRun's annotations to its TaskRun and pod, so tests set them on the
// PipelineRun (or on a Job's pod template).
const (
	// AnnotationExitCode makes every container of the pod exit with this
	// status; the pod ends Failed unless it is "0".
	AnnotationExitCode = "localcluster.taskgate.dev/exit-code"
	// AnnotationRunTime is how long the pod runs before it exits, as a Go
	// duration; the default is one second.
	AnnotationRunTime = "localcluster.taskgate.dev/run-time"
)

// stockStages are kwok's own stages that the cluster uses unchanged: nodes
// become Ready and keep their leases, pods become Running, and pods being
// deleted go away. Passing any stage replaces all of kwok's defaults, so the
// node stages must be listed too.
var stockStages = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// exitStages end a running pod. kwok's stock pod-complete only matches
// Job-owned pods, so TaskRun pods would run forever; these match any pod
// that is meant to terminate and fill in container termination state the
// way the kubelet would, which is what Tekton reads for a step's outcome.
const exitStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: taskgate-pod-exit
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.spec.restartPolicy'
      operator: 'In'
      values: ['Never', 'OnFailure']
  delay:
    durationMilliseconds: 1000
    durationFrom:
      expressionFrom: '.metadata.annotations["` + AnnotationRunTime + `"]'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      {{ $code := or (index (or .metadata.annotations dict) "` + AnnotationExitCode + `") "0" }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{ $code }}
            finishedAt: {{ $now | Quote }}
            reason: {{ if eq $code "0" }}Completed{{ else }}Error{{ end }}
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: {{ if eq $code "0" }}Succeeded{{ else }}Failed{{ end }}
`

// writeStages writes the kwok stage file: the stock stages read from the
// pinned kwok module, then taskgate's exit stage.
func writeStages(kwokModuleDir, path string) error {
	docs := make([]string, 0, len(stockStages)+1)
	for _, s := range stockStages {
		b, err := os.ReadFile(filepath.Join(kwokModuleDir, s))
		if err != nil {
			return fmt.Errorf("reading kwok stage: %w", err)
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	docs = append(docs, strings.TrimSpace(exitStages))
	return os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
}

// nodeManifest is a kwok fake node with room for thousands of pods.
func nodeManifest(name string) string {
	return `apiVersion: v1
kind: Node
metadata:
  name: ` + name + `
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: ` + name + `
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "1000", memory: 4Ti, ephemeral-storage: 10Ti, pods: "100000"}
  capacity: {cpu: "1000", memory: 4Ti, ephemeral-storage: 10Ti, pods: "100000"}
`
}
