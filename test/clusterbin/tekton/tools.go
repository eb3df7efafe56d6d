//go:build tools

// Package tekton pins the Tekton Pipelines controller that runs taskgate's
// PipelineRuns in the local test cluster.
package tekton

import _ "github.com/tektoncd/pipeline/cmd/controller"
