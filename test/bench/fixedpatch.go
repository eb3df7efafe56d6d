package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/taskgate/taskgate/test/localcluster"
)

// FixedPatchWebhookFlag is the bench command's flag that makes it serve the
// fixed-patch webhook, on the address it names, instead of running the
// bench.
const FixedPatchWebhookFlag = "serve-fixed-patch-webhook"

// fixedPatchWebhook is the fixed-patch webhook's name.
const fixedPatchWebhook = "fixed-patch.bench.taskgate.dev"

// fixedPatchConfiguration is the name of the MutatingWebhookConfiguration
// that sends the fixed-patch setup's Jobs to the fixed-patch webhook.
const fixedPatchConfiguration = "bench-fixed-patch"

// ServeFixedPatchWebhook serves the leanest webhook that makes the
// MutatingAdmissionPolicy's mutation, until ctx ends. It decodes each
// AdmissionReview and answers with the same JSON patch, precomputed for
// benchJob: the creation TTL and benchApp's env. It decides nothing and
// looks nothing up, and it serves over TLS and HTTP/1.1 as the manager
// does, so what it adds is what any webhook making this mutation costs.
func ServeFixedPatchWebhook(ctx context.Context, addr, certDir string) error {
	fixed, err := fixedPatch()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           patchWith(fixed),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	err = srv.ListenAndServeTLS(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// fixedPatch is the mutation of benchJob the MutatingAdmissionPolicy
// makes, as a JSON patch.
func fixedPatch() ([]byte, error) {
	return json.Marshal([]jsonpatch.JsonPatchOperation{
		jsonpatch.NewOperation("add", "/spec/ttlSecondsAfterFinished", creationTTL),
		jsonpatch.NewOperation("add", "/spec/template/spec/containers/0/env", benchApp("").Spec.Env),
	})
}

// patchWith answers an AdmissionReview with allowed and patch.
func patchWith(patch []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, fmt.Sprintf("decoding the AdmissionReview: %v", err), http.StatusBadRequest)
			return
		}
		review.Response = &admissionv1.AdmissionResponse{
			UID: review.Request.UID, Allowed: true, Patch: patch, PatchType: ptr.To(admissionv1.PatchTypeJSONPatch),
		}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&review)
	}
}

// startFixedPatchWebhook runs this bench binary again to serve the
// fixed-patch webhook with the manager's serving certificate, in a process of
// its own as the manager is, so it pays the same process switches. It
// registers the webhook for the Jobs of the fixed-patch setup's namespaces,
// matched as hook matches taskgate's; unscopeAdmission deletes the
// registration.
func (e *Env) startFixedPatchWebhook(ctx context.Context, hook *admissionregistrationv1.MutatingWebhookConfiguration) (*localcluster.Process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the bench binary: %w", err)
	}
	port, err := localcluster.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(e.hooks.LocalServingHost, port)
	args := []string{"-" + FixedPatchWebhookFlag + "=" + addr, "-dir=" + e.hooks.LocalServingCertDir}
	// Inside the cluster's namespace, beside the manager: the apiserver
	// calls both with no forwarder between.
	proc, err := e.Cluster.StartProcess(e.Dir, "fixed-patch-webhook", self, args, e.runtimeEnv)
	if err != nil {
		return nil, err
	}
	cfg, err := fixedPatchWebhookConfiguration(hook, addr)
	if err == nil {
		err = e.Client.Create(ctx, cfg)
	}
	if err != nil {
		proc.Stop(stopGrace)
		return nil, fmt.Errorf("registering the fixed-patch webhook: %w", err)
	}
	return proc, nil
}

// stopGrace is how long the fixed-patch webhook has to stop before it is
// killed.
const stopGrace = 5 * time.Second

// fixedPatchWebhookConfiguration is a copy of taskgate's Job webhook in
// hook, served at addr, for the fixed-patch setup's namespaces.
func fixedPatchWebhookConfiguration(hook *admissionregistrationv1.MutatingWebhookConfiguration, addr string) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: fixedPatchConfiguration}}
	for _, w := range hook.Webhooks {
		if w.Name != jobWebhook {
			continue
		}
		if w.ClientConfig.URL == nil {
			return nil, fmt.Errorf("%s has no URL to serve the fixed-patch webhook beside", jobWebhook)
		}
		u, err := url.Parse(*w.ClientConfig.URL)
		if err != nil {
			return nil, fmt.Errorf("%s's URL: %w", jobWebhook, err)
		}
		u.Host = addr
		w := *w.DeepCopy()
		w.Name, w.ClientConfig.URL = fixedPatchWebhook, ptr.To(u.String())
		scopeTo(&w, keyFixed)
		cfg.Webhooks = append(cfg.Webhooks, w)
	}
	return cfg, nil
}

// unregisterFixedPatchWebhook deletes the fixed-patch webhook's
// configuration.
func (e *Env) unregisterFixedPatchWebhook(ctx context.Context) error {
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: fixedPatchConfiguration}}
	if err := client.IgnoreNotFound(e.Client.Delete(ctx, cfg)); err != nil {
		return fmt.Errorf("deleting the fixed-patch webhook's configuration: %w", err)
	}
	return nil
}
