package imageinspect

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestLauncher(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"buildpack image", map[string]string{LabelLifecycleMetadata: `{"app":[]}`, "io.buildpacks.build.metadata": "{}"}, CNBLauncher},
		{"the label alone, even empty", map[string]string{LabelLifecycleMetadata: ""}, CNBLauncher},
		{"other buildpacks labels only", map[string]string{"io.buildpacks.stack.id": "io.buildpacks.stacks.jammy"}, ""},
		{"other labels", map[string]string{"org.opencontainers.image.source": "https://example.com"}, ""},
		{"no labels", nil, ""},
	}
	for _, tt := range tests {
		if got := Launcher(tt.labels); got != tt.want {
			t.Errorf("%s: Launcher = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// countingTransport counts the requests that reach the registry.
type countingTransport struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// serveRegistry serves an in-memory registry on loopback, with a CNB
// image at cnb:1 and another at plain:1, and returns its host.
func serveRegistry(t *testing.T) (string, v1.Hash) {
	t.Helper()
	host, digest, _ := serveRegistryWith(t, nil)
	return host, digest
}

// serveRegistryWith is serveRegistry whose handler is wrapped, once the
// images are pushed, by wrap; the registry sees every request first.
func serveRegistryWith(t *testing.T, wrap func(http.Handler) http.Handler) (string, v1.Hash, *atomic.Pointer[http.Handler]) {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h.Store(&reg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	var digest v1.Hash
	for repo, labels := range map[string]map[string]string{
		"cnb":   {LabelLifecycleMetadata: "{}"},
		"plain": {"a": "b"},
	} {
		img, err := mutate.Config(empty.Image, v1.Config{Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(mustRef(t, host+"/"+repo+":1"), img); err != nil {
			t.Fatal(err)
		}
		if repo == "cnb" {
			if digest, err = img.Digest(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if wrap != nil {
		wrapped := wrap(reg)
		h.Store(&wrapped)
	}
	return host, digest, &h
}

func TestInspectorReadsAndCaches(t *testing.T) {
	host, digest := serveRegistry(t)
	clk := clocktesting.NewFakePassiveClock(time.Unix(1e9, 0))
	tr := &countingTransport{next: http.DefaultTransport}
	in := New(Options{Transport: tr, Clock: clk})
	ctx := context.Background()
	launcher := func(ref string) (string, error) {
		t.Helper()
		return in.Launcher(ctx, mustRef(t, ref), nil)
	}

	// Each step: the reference, the launcher and error wanted, and
	// whether the registry is asked.
	steps := []struct {
		name    string
		ref     string
		advance time.Duration
		want    string
		err     string
		asks    bool
	}{
		{name: "CNB by tag", ref: host + "/cnb:1", want: CNBLauncher, asks: true},
		{name: "cached by tag", ref: host + "/cnb:1", advance: DefaultTagTTL - time.Second, want: CNBLauncher},
		{name: "tag expired", ref: host + "/cnb:1", advance: time.Second, want: CNBLauncher, asks: true},
		{name: "other image", ref: host + "/plain:1", want: "", asks: true},
		{name: "CNB by digest", ref: host + "/cnb@" + digest.String(), want: CNBLauncher, asks: true},
		{name: "digest kept", ref: host + "/cnb@" + digest.String(), advance: 24 * time.Hour, want: CNBLauncher},
		{name: "no such image", ref: host + "/missing:1", err: "no such image", asks: true},
		{name: "failure cached", ref: host + "/missing:1", advance: DefaultErrorTTL - time.Second, err: "no such image"},
		{name: "failure expired", ref: host + "/missing:1", advance: time.Second, err: "no such image", asks: true},
	}
	for _, s := range steps {
		clk.SetTime(clk.Now().Add(s.advance))
		before := tr.count()
		got, err := launcher(s.ref)
		gotErr := ""
		if err != nil {
			gotErr = Reason(err)
		}
		if got != s.want || gotErr != s.err {
			t.Errorf("%s: Launcher = %q, %v; want %q, %q", s.name, got, err, s.want, s.err)
		}
		if asked := tr.count() > before; asked != s.asks {
			t.Errorf("%s: asked the registry: %t, want %t", s.name, asked, s.asks)
		}
	}
}

// pullSecret is a kubernetes.io/dockerconfigjson Secret with a login for
// registry.
func pullSecret(uid, registry, user, password string) corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID(uid), ResourceVersion: "1"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + registry + `":{"auth":"` + auth + `"}}}`)},
	}
}

// TestInspectorUsesPullSecrets: a private image is read with the login a
// pull Secret has for its registry, and only then; a login for another
// registry is not sent; what one login read is not another's answer.
func TestInspectorUsesPullSecrets(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	host, _, _ := serveRegistryWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, password, ok := r.BasicAuth()
			mu.Lock()
			sent = append(sent, user)
			mu.Unlock()
			if !ok || user != "shop" || password != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	users := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Compact(slices.Clone(sent))
		sent = nil
		return out
	}
	in := New(Options{})
	ref := mustRef(t, host+"/cnb:1")
	tests := []struct {
		name    string
		secrets []corev1.Secret
		want    string
		err     string
		users   []string
	}{
		{name: "anonymous", err: "access denied", users: []string{""}},
		{name: "a login for another registry is not sent", secrets: []corev1.Secret{pullSecret("other", "ghcr.io", "shop", "s3cret")},
			err: "access denied", users: []string{""}},
		{name: "the registry's login", secrets: []corev1.Secret{pullSecret("shop", host, "shop", "s3cret")},
			want: CNBLauncher, users: []string{"", "shop"}},
		{name: "cached for that Secret", secrets: []corev1.Secret{pullSecret("shop", host, "shop", "s3cret")}, want: CNBLauncher},
		{name: "a wrong password", secrets: []corev1.Secret{pullSecret("wrong", host, "shop", "guess")},
			err: "access denied", users: []string{"", "shop"}},
		{name: "not a docker config", secrets: []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{UID: "bad"},
			Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}}},
			err: "its pull Secrets are not valid"},
	}
	for _, tt := range tests {
		got, err := in.Launcher(context.Background(), ref, tt.secrets)
		gotErr := ""
		if err != nil {
			gotErr = Reason(err)
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("%s: Launcher = %q, %v (%s); want %q, %q", tt.name, got, err, gotErr, tt.want, tt.err)
		}
		if u := users(); !slices.Equal(u, tt.users) {
			t.Errorf("%s: the registry saw users %q, want %q", tt.name, u, tt.users)
		}
	}
}

func TestInspectorRefusesLargeConfigs(t *testing.T) {
	host, _ := serveRegistry(t)
	// cnb's config is a few hundred bytes.
	in := New(Options{MaxConfigSize: 64})
	_, err := in.Launcher(context.Background(), mustRef(t, host+"/cnb:1"), nil)
	if !errors.Is(err, ErrConfigTooLarge) || Reason(err) != "the config is too large" {
		t.Fatalf("Launcher = %v (%s), want ErrConfigTooLarge", err, Reason(err))
	}
	if got, err := New(Options{}).Launcher(context.Background(), mustRef(t, host+"/cnb:1"), nil); got != CNBLauncher || err != nil {
		t.Fatalf("with the default bound: Launcher = %q, %v; want %q", got, err, CNBLauncher)
	}
}

func TestInspectorTimesOut(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stall }))
	t.Cleanup(func() { close(stall); srv.Close() })
	in := New(Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := in.Launcher(context.Background(), mustRef(t, strings.TrimPrefix(srv.URL, "http://")+"/cnb:1"), nil)
	if took := time.Since(start); err == nil || Reason(err) != "the registry timed out" || took > 2*time.Second {
		t.Fatalf("after %s: %v (%s); want a timeout after 200ms", took, err, Reason(err))
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("reading: %w", context.DeadlineExceeded), "the registry timed out"},
		{errors.New("no child with platform linux/s390x"), "the config could not be read"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	in := New(Options{Timeout: time.Second})
	// A closed loopback port: nothing listens there.
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	if _, err := in.Launcher(context.Background(), mustRef(t, host+"/cnb:1"), nil); Reason(err) != "the registry is unreachable" {
		t.Errorf("closed port: %v (%s), want unreachable", err, Reason(err))
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
