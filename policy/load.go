package policy

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Load decodes, defaults and validates a policy document: the one way to
// turn ConfigMap data into a *Policy. A document it accepts is safe to
// evaluate.
func Load(data []byte) (*Policy, error) {
	p, err := Decode(data)
	if err != nil {
		return nil, err
	}
	SetDefaults(p)
	if errs := Validate(p); len(errs) > 0 {
		return nil, &Error{Errs: errs}
	}
	return p, nil
}

// Error reports every problem found in a policy document. Paths start at
// the document root (ttl.rules[0].when); the message names the ConfigMap
// key, so a webhook can show it as it is.
type Error struct {
	Errs field.ErrorList
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Error()
	}
	return ConfigMapKey + ": " + strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find each *field.Error.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Errs))
	for i, fe := range e.Errs {
		errs[i] = fe
	}
	return errs
}
