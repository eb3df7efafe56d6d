package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
)

const (
	// LabelLifecycleMetadata is the label the CNB lifecycle's exporter
	// writes on every image it builds (the platform spec's
	// io.buildpacks.lifecycle.metadata).
	LabelLifecycleMetadata = "io.buildpacks.lifecycle.metadata"
	// CNBLauncher is where a CNB image has its launcher, which sets up the
	// buildpacks' environment and then runs a command.
	CNBLauncher = "/cnb/lifecycle/launcher"
)

// Launcher returns the launcher an image with these config labels runs a
// command through: CNBLauncher for a buildpack image, "" for any other.
func Launcher(labels map[string]string) string {
	if _, ok := labels[LabelLifecycleMetadata]; ok {
		return CNBLauncher
	}
	return ""
}

// Defaults of Options.
const (
	// DefaultTimeout bounds one image's reading. It runs inside the Task
	// mutating webhook, which the chart gives 5 s by default, and a Task
	// whose image is not read in time is still admitted.
	DefaultTimeout = 3 * time.Second
	// DefaultTagTTL is how long what a tag named is kept: a tag may move.
	DefaultTagTTL = time.Minute
	// DefaultErrorTTL is how long a failure is kept, so that a burst of
	// Tasks of an App whose registry is down waits DefaultTimeout once.
	DefaultErrorTTL = 10 * time.Second
	// DefaultCacheSize bounds the images kept, whatever the Apps name.
	DefaultCacheSize = 1024
	// DefaultMaxConfigSize bounds the config read into memory: anyone may
	// publish an image to a public registry, with a config as large as
	// they like. A CNB image's labels take tens of KiB.
	DefaultMaxConfigSize = 4 << 20
)

// ErrConfigTooLarge is returned for an image whose manifest gives its
// config more than Options.MaxConfigSize bytes; the config is not read.
var ErrConfigTooLarge = errors.New("the image's config is larger than taskgate reads")

// ErrPullSecrets is returned when the pull Secrets do not parse.
var ErrPullSecrets = errors.New("the pull Secrets are not valid")

// Options configure an Inspector; zero values take the defaults.
type Options struct {
	// Transport makes the registry requests; nil is remote.DefaultTransport.
	Transport http.RoundTripper
	Timeout   time.Duration
	TagTTL    time.Duration
	ErrorTTL  time.Duration
	CacheSize int
	// MaxConfigSize is the largest config read, in bytes.
	MaxConfigSize int64
	Clock         clock.PassiveClock
}

// Inspector reads images' config labels, through a cache. It is safe for
// concurrent use.
type Inspector struct {
	opts  Options
	cache *lru.Cache
}

// entry is one cached answer; a zero expires never expires.
type entry struct {
	labels  map[string]string
	err     error
	expires time.Time
}

// New returns an Inspector with opts, defaults filled in.
func New(opts Options) *Inspector {
	if opts.Transport == nil {
		opts.Transport = remote.DefaultTransport
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.TagTTL <= 0 {
		opts.TagTTL = DefaultTagTTL
	}
	if opts.ErrorTTL <= 0 {
		opts.ErrorTTL = DefaultErrorTTL
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.MaxConfigSize <= 0 {
		opts.MaxConfigSize = DefaultMaxConfigSize
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Inspector{opts: opts, cache: lru.New(opts.CacheSize)}
}

// Launcher returns the launcher of the image ref names (Launcher of its
// labels), reading them through the cache.
func (i *Inspector) Launcher(ctx context.Context, ref name.Reference, pullSecrets []corev1.Secret) (string, error) {
	labels, err := i.Labels(ctx, ref, pullSecrets)
	if err != nil {
		return "", err
	}
	return Launcher(labels), nil
}

// Labels returns the config labels of the image ref names, for the
// platform the manager runs on when ref names an index. pullSecrets are
// the pull Secrets of the pods that run it: their credentials for ref's
// registry, if any, are sent to it, as the kubelet would; without any the
// read is anonymous. The caller treats the labels as read-only: they are
// shared with the cache.
func (i *Inspector) Labels(ctx context.Context, ref name.Reference, pullSecrets []corev1.Secret) (map[string]string, error) {
	// What one set of credentials read is not another's answer.
	key := ref.Name()
	for _, s := range pullSecrets {
		key += "\x00" + string(s.UID) + "@" + s.ResourceVersion
	}
	now := i.opts.Clock.Now()
	if v, ok := i.cache.Get(key); ok {
		if e := v.(entry); e.expires.IsZero() || now.Before(e.expires) {
			return e.labels, e.err
		}
	}
	labels, err := i.read(ctx, ref, pullSecrets)
	e := entry{labels: labels, err: err}
	switch _, byDigest := ref.(name.Digest); {
	case err != nil:
		e.expires = now.Add(i.opts.ErrorTTL)
	case !byDigest:
		e.expires = now.Add(i.opts.TagTTL)
	}
	// A failure because this request's own context ended says nothing
	// about the image.
	if err == nil || ctx.Err() == nil {
		i.cache.Add(key, e)
	}
	return labels, err
}

func (i *Inspector) read(ctx context.Context, ref name.Reference, pullSecrets []corev1.Secret) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, i.opts.Timeout)
	defer cancel()
	// A registry no Secret names gets no credentials: the keychain
	// falls back to anonymous.
	keychain, err := kauth.NewFromPullSecrets(ctx, pullSecrets)
	if err != nil {
		return nil, fmt.Errorf("reading pull Secrets: %w: %w", ErrPullSecrets, err)
	}
	img, err := remote.Image(ref,
		remote.WithContext(ctx),
		remote.WithTransport(i.opts.Transport),
		remote.WithAuthFromKeychain(keychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
	)
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", ref, err)
	}
	// go-containerregistry reads a config up to the size its manifest
	// says, so that size is checked first.
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of image %s: %w", ref, err)
	}
	if m.Config.Size > i.opts.MaxConfigSize {
		return nil, fmt.Errorf("image %s: config of %d bytes: %w", ref, m.Config.Size, ErrConfigTooLarge)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of image %s: %w", ref, err)
	}
	return cfg.Config.Labels, nil
}

// Reason says in a few words why reading an image failed, for a warning.
func Reason(err error) string {
	var terr *transport.Error
	switch {
	case errors.Is(err, ErrPullSecrets):
		return "its pull Secrets are not valid"
	case errors.Is(err, ErrConfigTooLarge):
		return "the config is too large"
	case errors.Is(err, context.DeadlineExceeded):
		return "the registry timed out"
	case errors.As(err, &terr):
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return "access denied"
		case http.StatusNotFound:
			return "no such image"
		}
		return fmt.Sprintf("the registry answered %d", terr.StatusCode)
	case errors.As(err, new(*net.OpError)):
		return "the registry is unreachable"
	}
	return "the config could not be read"
}
