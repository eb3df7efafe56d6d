// Command netcheck runs in a pod on the local cluster's real node and
// checks the two paths between the apiserver and a pod that a networked
// cluster must carry, as a chart installed by an admin would use them:
//
//	netcheck webhook -cert F -key F [-addr :8443]
//	    serves a validating admission webhook over HTTPS at /validate,
//	    which denies every object whose name starts with "deny-" and
//	    allows the rest, and answers /healthz for a readiness probe. The
//	    apiserver reaches it through a Service (clientConfig.service).
//	netcheck incluster [-host NAME]
//	    reads the standard in-cluster config (KUBERNETES_SERVICE_HOST and
//	    _PORT, the ServiceAccount token and ca.crt), GETs its own
//	    namespace with TLS verification on and prints
//	    "GET <url>: <status code>". Any HTTP answer exits 0; a TLS or
//	    connection error exits 1. -host replaces the Service's address,
//	    e.g. kubernetes.default.svc to check CoreDNS and the certificate's
//	    DNS names.
//
// Build it with CGO_ENABLED=0: the image is busybox, with no libc.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// namespaceFile is where the ServiceAccount volume puts the pod's
// namespace, beside the token and ca.crt InClusterConfig reads.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: netcheck webhook|incluster [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "webhook":
		err = runWebhook(os.Args[2:])
	case "incluster":
		err = runInCluster(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q, want webhook or incluster", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netcheck:", err)
		os.Exit(1)
	}
}

func runWebhook(args []string) error {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	cert := fs.String("cert", "", "serving certificate (PEM)")
	key := fs.String("key", "", "serving key (PEM)")
	addr := fs.String("addr", ":8443", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cert == "" || *key == "" {
		return errors.New("webhook needs -cert and -key")
	}
	// The pod's hostname is its name: the message names which pod
	// answered, so a test knows the apiserver reached this one.
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("reading hostname: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("POST /validate", func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "want an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
			return
		}
		resp := validate(review.Request, host)
		log.Printf("%s %s %s/%s from %s: allowed=%t", review.Request.Operation, review.Request.Kind.Kind,
			review.Request.Namespace, review.Request.Name, r.RemoteAddr, resp.Allowed)
		review.Request, review.Response = nil, resp
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("serving on %s", *addr)
	return srv.ListenAndServeTLS(*cert, *key)
}

// validate denies an object whose name starts with "deny-".
func validate(req *admissionv1.AdmissionRequest, host string) *admissionv1.AdmissionResponse {
	name := req.Name
	// A request's name is empty when the object has only generateName;
	// the object itself is what the rule is about.
	var obj metav1.PartialObjectMetadata
	if len(req.Object.Raw) > 0 && json.Unmarshal(req.Object.Raw, &obj) == nil && obj.Name != "" {
		name = obj.Name
	}
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if strings.HasPrefix(name, "deny-") {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: "denied by netcheck in pod " + host}
	}
	return resp
}

func runInCluster(args []string) error {
	fs := flag.NewFlagSet("incluster", flag.ContinueOnError)
	host := fs.String("host", "", "apiserver host instead of KUBERNETES_SERVICE_HOST, e.g. kubernetes.default.svc")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("reading the in-cluster config: %w", err)
	}
	if *host != "" {
		// Only the name changes: the CA, the token and the port stay
		// what InClusterConfig read, so the certificate must name host.
		cfg.Host = "https://" + net.JoinHostPort(*host, os.Getenv("KUBERNETES_SERVICE_PORT"))
	}
	ns, err := os.ReadFile(namespaceFile)
	if err != nil {
		return fmt.Errorf("reading the pod's namespace: %w", err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("building the HTTP client: %w", err)
	}
	client.Timeout = 10 * time.Second
	url := strings.TrimSuffix(cfg.Host, "/") + "/api/v1/namespaces/" + strings.TrimSpace(string(ns))
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	// 403 and 200 alike prove the network, DNS and TLS path; which one
	// it is tells whether RBAC let the ServiceAccount through.
	fmt.Printf("GET %s: %d\n", url, resp.StatusCode)
	return nil
}
