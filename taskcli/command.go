package taskcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// StepContainer is the container of a Task's pod that runs its command:
// Tekton names a step's container "step-" and the step's name, and
// taskgate's one step is reconciler.StepName.
const StepContainer = "step-main"

// Options hold what every command shares: the cluster to talk to, where
// output goes and how long to wait.
type Options struct {
	// ConfigFlags are kubectl's kubeconfig, context and namespace flags.
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	// Terminal says that ErrOut is a terminal, where progress rewrites
	// one line instead of printing a line per state.
	Terminal bool
	// Clock times waits and ages.
	Clock clock.WithTicker
	// LogRetry is how long a wait that follows logs waits before asking
	// again for logs that were not there yet, such as those of a
	// container still starting. The Task itself is watched, not polled.
	LogRetry time.Duration
	// IDWait is how long `run` waits for taskgate to give the new Task
	// its ID.
	IDWait time.Duration
	// LogGrace is how long a finished Task's log stream may take to end
	// by itself before it is closed.
	LogGrace time.Duration

	// scheme knows taskgate's and Kubernetes' types, for the client and
	// the printers.
	scheme    *runtime.Scheme
	namespace string
	client    client.WithWatch
	pods      kubernetes.Interface
}

// NewOptions returns Options with kubectl's flags and the default timings.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	scheme := runtime.NewScheme()
	// Adding compiled-in types fails only on a programming error.
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	return &Options{
		scheme:      scheme,
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		IOStreams:   streams,
		Clock:       clock.RealClock{},
		LogRetry:    500 * time.Millisecond,
		IDWait:      5 * time.Second,
		LogGrace:    2 * time.Second,
	}
}

// Execute runs the plugin with args and returns its exit status: 0 when
// the command succeeded; after printing the error, the exit status of the
// Task's command when run --wait saw it fail, and 1 otherwise.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	o := NewOptions(streams)
	if f, ok := streams.ErrOut.(*os.File); ok {
		o.Terminal = term.IsTerminal(int(f.Fd()))
	}
	cmd := NewCommand(o)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(streams.ErrOut, "error: "+err.Error())
		if exit, ok := errors.AsType[exitError](err); ok {
			return exit.code
		}
		return 1
	}
	return 0
}

// NewCommand returns the `kubectl task` command and its subcommands.
func NewCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-task [APP ID]",
		Short: "Run, list and stop taskgate Tasks: one-off runs of an App's code",
		Long: `kubectl task runs one-off commands of an App, such as a database migration,
the way cf run-task does: each Task inherits the App's image, environment,
service bindings and resources, gets an ID of 1, 2, 3... within its App,
runs its command and stops. kubectl task schedule starts one at each tick of a
cron schedule, as kf create-job and kf schedule-job do.`,
		Annotations:       map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl task"},
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Args:              rootArgs,
	}
	// kubectl task APP ID shows one Task, as cf task APP ID does.
	getFlags := newGetPrintFlags()
	getFlags.AddFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return o.runGet(cmd.Context(), getFlags, args)
	}
	cmd.SetOut(o.Out)
	cmd.SetErr(o.ErrOut)
	o.ConfigFlags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newRunCommand(o), newGetCommand(o), newListCommand(o), newLogsCommand(o), newWaitCommand(o),
		newTerminateCommand(o), newVersionCommand(o),
		// TaskSchedules, with Kf's job commands as aliases or commands.
		newScheduleCommand(o), newSchedulesCommand(o), newRunNowCommand(o), newSuspendCommand(o, true),
		newSuspendCommand(o, false), newDeleteScheduleCommand(o), newCreateJobCommand(o), newScheduleJobCommand(o),
		newJobHistoryCommand(o))
	return cmd
}

// complete connects to the cluster that kubectl's flags name.
func (o *Options) complete() error {
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from kubeconfig: %w", err)
	}
	// The client and cli-runtime's Builder, which list and get print
	// through, share the flags' config.
	o.ConfigFlags.WrapConfigFn = func(cfg *rest.Config) *rest.Config {
		cfg = rest.CopyConfig(cfg)
		cfg.UserAgent = "kubectl-task"
		// Admission warnings, such as a policy shortening a Task's TTL,
		// are for the user, as kubectl shows them.
		cfg.WarningHandler = rest.NewWarningWriter(o.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
		return cfg
	}
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: o.scheme})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	pods, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	o.namespace, o.client, o.pods = ns, c, pods
	return nil
}

// apiError explains an error from the API server where the plain one
// would puzzle: a cluster without taskgate has no Task kind.
func apiError(err error) error {
	if meta.IsNoMatchError(err) {
		return errors.New("taskgate is not installed in this cluster (it serves no taskgate.dev/v1alpha1 Apps or Tasks); install the taskgate Helm chart first")
	}
	return err
}
