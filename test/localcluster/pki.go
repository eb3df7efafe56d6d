package localcluster

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// writeAPIServerPKI writes into envtest's certificate directory what it
// would otherwise make itself: the apiserver's serving certificate and the
// ServiceAccount signing key. envtest's own certificate names only
// localhost and 127.0.0.1, and a pod that uses the in-cluster config
// verifies the apiserver as kubernetes.default.svc or 10.96.0.1; envtest
// keeps a certificate it finds and then writes no signing key either. It
// returns the CA that clients trust.
func writeAPIServerPKI(certDir string) ([]byte, error) {
	bundle, key, err := certutil.GenerateSelfSignedCertKey("kubernetes",
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(KubernetesServiceIP), net.ParseIP(NodeIP)},
		[]string{"localhost", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return nil, fmt.Errorf("making the apiserver's serving certificate: %w", err)
	}
	// The bundle is the serving certificate, then the CA that signed it.
	serving, rest := pem.Decode(bundle)
	ca, _ := pem.Decode(rest)
	if serving == nil || ca == nil {
		return nil, fmt.Errorf("the apiserver's certificate bundle holds %d bytes, not a certificate and its CA", len(bundle))
	}
	signer, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("making the ServiceAccount signing key: %w", err)
	}
	signerKey, err := keyutil.MarshalPrivateKeyToPEM(signer)
	if err != nil {
		return nil, fmt.Errorf("encoding the ServiceAccount signing key: %w", err)
	}
	public, err := x509.MarshalPKIXPublicKey(&signer.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the ServiceAccount public key: %w", err)
	}
	files := map[string][]byte{
		"apiserver.crt": pem.EncodeToMemory(serving),
		"apiserver.key": key,
		// envtest names these; the apiserver reads a public key as well
		// as a certificate from --service-account-key-file.
		"sa-signer.key": signerKey,
		"sa-signer.crt": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: public}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(certDir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return pem.EncodeToMemory(ca), nil
}
