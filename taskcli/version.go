package taskcli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version: its module version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info, _ := debug.ReadBuildInfo()
			fmt.Fprintln(o.Out, VersionLine(info))
			return nil
		},
	}
}

// VersionLine describes a build from what Go records in the binary: the
// module's version, the commit (marked modified when the tree had
// changes) and the Go version, so that no release step has to stamp it.
func VersionLine(info *debug.BuildInfo) string {
	if info == nil {
		return "kubectl-task unknown (built without module information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if revision == "" {
		return fmt.Sprintf("kubectl-task %s, %s", version, info.GoVersion)
	}
	return fmt.Sprintf("kubectl-task %s, commit %s%s, %s", version, revision, modified, info.GoVersion)
}
