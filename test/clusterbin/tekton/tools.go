//go:build tools

// Package tekton pins the Tekton Pipelines controller that runs taskgate's
// PipelineRuns in the local test cluster, and the binaries of the images
// its pods run on the real node: entrypoint, nop and workingdirinit.
package tekton

import (
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "github.com/tektoncd/pipeline/cmd/entrypoint"
	_ "github.com/tektoncd/pipeline/cmd/nop"
	_ "github.com/tektoncd/pipeline/cmd/workingdirinit"
)
