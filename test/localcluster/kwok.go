package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
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
	// AnnotationLogsFile names a file on this machine that every container
	// of the pod logs: `kubectl logs` (and `-f`) read it through kwok. The
	// file holds CRI log lines; WriteLogs appends them.
	AnnotationLogsFile = "localcluster.taskgate.dev/logs-file"
)

// stockStages are kwok's own stages that the cluster uses, node-initialize
// with one fix (see keptAddresses): nodes become Ready and keep their
// leases, pods become Running, and pods being deleted go away. Passing any
// stage replaces all of kwok's defaults, so the node stages must be listed
// too.
var stockStages = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// exitStages end a running pod. kwok's stock pod-complete only matches
// Job-owned pods, so TaskRun pods would run forever; taskgate-pod-exit
// matches any pod that is meant to terminate, after its run time, and
// taskgate-pod-cancel a pod whose run Tekton stopped.
var exitStages = podStopStage("taskgate-pod-exit", `
    - key: '.spec.restartPolicy'
      operator: 'In'
      values: ['Never', 'OnFailure']
  delay:
    durationMilliseconds: 1000
    durationFrom:
      expressionFrom: '.metadata.annotations["`+AnnotationRunTime+`"]'`,
	`or (index (or .metadata.annotations dict) "`+AnnotationExitCode+`") "0"`) +
	"---\n" +
	// Weight 1 puts it before taskgate-pod-exit, whose weight is 0, when
	// both match.
	podStopStage("taskgate-pod-cancel", `
    - key: '.metadata.annotations["`+tektonCancelAnnotation+`"]'
      operator: 'In'
      values: ['CANCEL']
  weight: 1`, `"9"`)

// tektonCancelAnnotation is the pod annotation Tekton sets to CANCEL, with
// keep-pod-on-cancel on, to stop a cancelled or timed-out run. Its
// entrypoint then kills the step's command and exits 9 (SIGKILL's number);
// on a kwok node, taskgate-pod-cancel does the same at once, so that kwok
// pods end as real ones do.
const tektonCancelAnnotation = "tekton.dev/cancel"

// podStopStage is a kwok stage that ends a running pod that matches more
// (selector expressions, then the stage's other fields), each container
// terminated with the exit code that the template expression code gives,
// the way the kubelet reports it, which is what Tekton reads for a step's
// outcome.
func podStopStage(name, more, code string) string {
	return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ` + name + `
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
      values: ['Running']` + more + `
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := ` + code + ` }}
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
}

// nodeInitializeAddresses is the part of kwok's stock node-initialize stage
// that writes a node's addresses, and keptAddresses what replaces it.
//
// The stock stage writes the key only when an InternalIP or a Hostname is
// missing, and lists only the missing ones. kwok runs without --node-name,
// so a node gets its InternalIP and no Hostname; when kwok initializes the
// node again (after it went NotReady, as when kube-apiserver is down longer
// than the node lease), the stage sends `addresses: null` and the node loses
// its InternalIP, and `kubectl logs` with it ("no preferred addresses
// found"). keptAddresses lists the node's addresses first, so the missing
// ones are added to them.
const (
	nodeInitializeAddresses = `      {{ if or (not $hasInternalIP) (not $hasHostname) }}
      addresses:
      {{ end }}
`
	keptAddresses = `      addresses:
      {{ with .status.addresses }}
      {{ YAML . 1 }}
      {{ end }}
`
)

// writeStages writes the kwok stage file: the stock stages read from the
// pinned kwok module, node-initialize keeping a node's addresses, then
// taskgate's exit stage.
func writeStages(kwokModuleDir, path string) error {
	docs := make([]string, 0, len(stockStages)+1)
	for _, s := range stockStages {
		b, err := os.ReadFile(filepath.Join(kwokModuleDir, s))
		if err != nil {
			return fmt.Errorf("reading kwok stage: %w", err)
		}
		doc := string(b)
		if filepath.Base(s) == "node-initialize.yaml" {
			if strings.Count(doc, nodeInitializeAddresses) != 1 {
				return fmt.Errorf("kwok's %s no longer writes addresses as localcluster expects: check that a node initialized again keeps its addresses, and update nodeInitializeAddresses", s)
			}
			doc = strings.Replace(doc, nodeInitializeAddresses, keptAddresses, 1)
		}
		docs = append(docs, strings.TrimSpace(doc))
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

// kwokLogsCRD reads kwok's Logs CRD from the pinned module. kwok watches
// Logs objects (--enable-crds=Logs), one per pod, to serve container logs;
// the pod-logs controller creates them from AnnotationLogsFile.
func kwokLogsCRD(repoRoot string) (*apiextensionsv1.CustomResourceDefinition, error) {
	dir, err := moduleDir(repoRoot, "kwok", "sigs.k8s.io/kwok")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "kustomize", "crd", "bases", "kwok.x-k8s.io_logs.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading kwok's Logs CRD: %w", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return crd, nil
}

// runPodLogs gives each pod annotated with AnnotationLogsFile a kwok Logs
// object, owned by the pod, that serves the file as the logs of all its
// containers. It runs until ctx ends.
func (c *Cluster) runPodLogs(ctx context.Context, logf func(string, ...any)) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return fmt.Errorf("creating clientset: %w", err)
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	pods := factory.Core().V1().Pods().Informer()
	ensure := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Annotations[AnnotationLogsFile] == "" || pod.DeletionTimestamp != nil {
			return
		}
		if err := cl.Create(ctx, podLogs(pod)); err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
			logf("serving logs of pod %s/%s: %v", pod.Namespace, pod.Name, err)
		}
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    ensure,
		UpdateFunc: func(_, obj any) { ensure(obj) },
	}); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		factory.Shutdown()
	}()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), pods.HasSynced) {
		return fmt.Errorf("pod informer did not sync")
	}
	return nil
}

// podLogs is the kwok Logs object that serves a pod's AnnotationLogsFile.
// Tekton names a pod's containers after its steps, so the entry names no
// container and applies to all.
func podLogs(pod *corev1.Pod) client.Object {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata": map[string]any{
			"name":      pod.Name,
			"namespace": pod.Namespace,
			"ownerReferences": []any{map[string]any{
				"apiVersion": "v1", "kind": "Pod", "name": pod.Name, "uid": string(pod.UID),
			}},
		},
		"spec": map[string]any{
			"logs": []any{map[string]any{"logsFile": pod.Annotations[AnnotationLogsFile], "follow": true}},
		},
	}}
	return u
}

// WriteLogs appends lines to a pod logs file (see AnnotationLogsFile) in
// the CRI format the kubelet reads, as the container's stdout, creating the
// file if needed.
func WriteLogs(path string, lines ...string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening logs file: %w", err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(time.Now().UTC().Format(time.RFC3339Nano) + " stdout F " + l + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing logs file: %w", err)
	}
	return f.Close()
}
