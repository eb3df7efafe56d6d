// Command launcher stands in for a buildpack (CNB) image's
// /cnb/lifecycle/launcher on the local cluster's real node, where no
// buildpack image may be pulled. Like the real one for a process with
// direct=false, it puts the buildpacks' environment in place and runs its
// one argument through a shell:
//
//	/cnb/lifecycle/launcher "bundle exec rake db:migrate"
//
// prepends every layer's bin directory (/layers/<buildpack>/<layer>/bin,
// in lexical order, the first one first) to PATH and execs
// /bin/sh -c <command>, so the shell, and the exit code, are the
// command's own. A command that needs a layer's tool therefore fails with
// 127 when a Task runs it without the launcher, as it would in a real CNB
// image. With no argument, or more than one, it exits 2: taskgate passes
// the whole command as one argument, as Cloud Foundry does.
//
// Build it with CGO_ENABLED=0: the image is busybox, with no libc.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// layersDir is CNB's default CNB_LAYERS_DIR.
const layersDir = "/layers"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s <command>\n", os.Args[0])
		os.Exit(2)
	}
	bins, err := filepath.Glob(filepath.Join(layersDir, "*", "*", "bin"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "launcher: finding layers: %v\n", err)
		os.Exit(1)
	}
	if p := os.Getenv("PATH"); p != "" {
		bins = append(bins, p)
	}
	// Replaced, not appended: with two PATH entries which one a program
	// sees depends on its libc.
	env := []string{"PATH=" + strings.Join(bins, string(os.PathListSeparator))}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	// exec, not a child: the command's exit code and signals are the
	// container's, as with the real launcher.
	err = syscall.Exec("/bin/sh", []string{"/bin/sh", "-c", os.Args[1]}, env)
	fmt.Fprintf(os.Stderr, "launcher: exec /bin/sh: %v\n", err)
	os.Exit(1)
}
