// Command kubectl-task is the `kubectl task` plugin: put it on PATH and
// run `kubectl task --help`. The commands live in package taskcli.
//
// It may import taskcli and nothing else of taskgate.
package main
