package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/taskgate/taskgate/api/v1alpha1"
)

// The servicebinding.io Secret keys and Secret type that describe the
// service rather than hold a credential.
const (
	// KeyType is the Secret key, and the file, that holds a binding's type.
	KeyType = "type"
	// KeyProvider is the Secret key, and the file, that holds its provider.
	KeyProvider = "provider"
	// SecretTypePrefix starts a Secret type that names the binding type,
	// as servicebinding.io/postgresql does.
	SecretTypePrefix = "servicebinding.io/"
)

// TypeKey and ProviderKey are the keys, in the App's taskgate-managed
// VCAP_SERVICES Secret, of a binding's resolved type and provider. Binding
// names are DNS labels, so each is a valid Secret key.
func TypeKey(binding string) string { return "type." + binding }

// ProviderKey is the key of a binding's resolved provider: see TypeKey.
func ProviderKey(binding string) string { return "provider." + binding }

// Type returns a binding's servicebinding.io type: the Secret's type key,
// else the type its Secret type servicebinding.io/<type> names, else the
// binding's own type field; "" when none says. secret may be nil (not
// read, or not found).
func Type(b *v1alpha1.ServiceBinding, secret *corev1.Secret) string {
	if secret != nil {
		if t := strings.TrimSpace(string(secret.Data[KeyType])); t != "" {
			return t
		}
		if t, ok := strings.CutPrefix(string(secret.Type), SecretTypePrefix); ok && t != "" {
			return t
		}
	}
	return b.Type
}

// Provider returns a binding's provider: the Secret's provider key, else
// the binding's provider field; "" when neither says.
func Provider(b *v1alpha1.ServiceBinding, secret *corev1.Secret) string {
	if secret != nil {
		if p := strings.TrimSpace(string(secret.Data[KeyProvider])); p != "" {
			return p
		}
	}
	return b.Provider
}

// Bound is one binding with its Secret, as the reconciler read it.
type Bound struct {
	Binding v1alpha1.ServiceBinding
	// Secret is nil when the Secret does not exist; the binding then has
	// no entry in VCAP_SERVICES.
	Secret *corev1.Secret
}

// Service is one entry of VCAP_SERVICES, in the shape Cloud Foundry gives
// a bound service instance.
type Service struct {
	Name         string                     `json:"name"`
	InstanceName string                     `json:"instance_name"`
	BindingName  string                     `json:"binding_name"`
	Label        string                     `json:"label"`
	Plan         string                     `json:"plan"`
	Provider     *string                    `json:"provider"`
	Tags         []string                   `json:"tags"`
	Credentials  map[string]json.RawMessage `json:"credentials"`
	// SyslogDrainURL is always null: taskgate drains no logs.
	SyslogDrainURL *string `json:"syslog_drain_url"`
	// VolumeMounts is always empty: CF volume services do not exist here;
	// the binding's files are under $SERVICE_BINDING_ROOT instead.
	VolumeMounts []any `json:"volume_mounts"`
}

// LabelUserProvided is the label of a binding with no label and no type.
const LabelUserProvided = "user-provided"

// Services returns VCAP_SERVICES: entries keyed by label, each label's in
// the order of the bindings. A binding whose Secret is missing has no
// entry. The label is the binding's label field, else its type, else
// user-provided. name, instance_name and binding_name are all the
// binding's name: the binding is the only service instance taskgate knows.
func Services(bound []Bound) map[string][]Service {
	services := map[string][]Service{}
	for i := range bound {
		b, secret := &bound[i].Binding, bound[i].Secret
		if secret == nil {
			continue
		}
		label := b.Label
		if label == "" {
			label = Type(b, secret)
		}
		if label == "" {
			// Admission refuses such a binding, but its Secret may have
			// lost its type since; Cloud Foundry's label for a service
			// it knows nothing about is this one.
			label = LabelUserProvided
		}
		tags := append([]string{}, b.Tags...)
		s := Service{
			Name: b.Name, InstanceName: b.Name, BindingName: b.Name,
			Label: label, Plan: b.Plan, Tags: tags,
			Credentials:  Credentials(secret.Data),
			VolumeMounts: []any{},
		}
		if p := Provider(b, secret); p != "" {
			s.Provider = &p
		}
		services[label] = append(services[label], s)
	}
	return services
}

// Credentials returns a Secret's data as VCAP_SERVICES credentials. A value
// that is a JSON object, array, number or boolean is kept as that JSON, so
// a port stays a number and nested configuration stays nested, as a Cloud
// Foundry service broker would have given them; any other value is a
// string. The type and provider keys describe the service, not a
// credential, and are left out.
func Credentials(data map[string][]byte) map[string]json.RawMessage {
	creds := make(map[string]json.RawMessage, len(data))
	for k, v := range data {
		if k == KeyType || k == KeyProvider {
			continue
		}
		creds[k] = credential(v)
	}
	return creds
}

// credential is v as JSON. Only a value that is JSON as written, from its
// first byte to its last, keeps its JSON form: " 5" and "null" are the
// strings a user wrote, and a JSON string ("\"x\"") stays the string with
// its quotes, as its file shows it.
func credential(v []byte) json.RawMessage {
	if len(v) > 0 && json.Valid(v) && !isSpace(v[0]) && !isSpace(v[len(v)-1]) {
		switch v[0] {
		case '{', '[', 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			var compact bytes.Buffer
			if err := json.Compact(&compact, v); err == nil {
				return compact.Bytes()
			}
		}
	}
	s, _ := json.Marshal(string(v)) // a string always marshals
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// VCAPServices returns the VCAP_SERVICES document for bound (see Services).
func VCAPServices(bound []Bound) ([]byte, error) {
	data, err := json.Marshal(Services(bound))
	if err != nil {
		return nil, fmt.Errorf("rendering VCAP_SERVICES: %w", err)
	}
	return data, nil
}

// ValidateType returns an error at fldPath (the binding) when it gets no
// type: not from its Secret (nil when the Secret could not be read) nor
// its own type field. servicebinding.io requires a type, and clients find
// bindings by it.
func ValidateType(b *v1alpha1.ServiceBinding, secret *corev1.Secret, fldPath *field.Path) *field.Error {
	if Type(b, secret) != "" {
		return nil
	}
	return field.Required(fldPath.Child("type"), fmt.Sprintf(
		"binding %q has no servicebinding.io type: Secret %q has no %q key and is not of type %s<type>; "+
			"set type, such as type: postgresql, or add a type key to the Secret",
		b.Name, b.SecretName, KeyType, SecretTypePrefix))
}
