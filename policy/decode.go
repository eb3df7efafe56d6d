package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Decode parses a policy document strictly: an unknown or misspelt field, a
// value of the wrong type, a duplicate key or a wrong apiVersion or kind is
// an error. Every such problem is reported at once, as an *Error whose
// field paths start at the document root. Decode neither defaults nor
// validates; Load does both.
func Decode(data []byte) (*Policy, error) {
	// YAMLToJSONStrict rejects duplicate keys, which would otherwise let a
	// later key silently win.
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %s", ConfigMapKey, oneLine(err.Error()))
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %s", ConfigMapKey, oneLine(err.Error()))
	}
	if doc == nil { // an empty document
		doc = map[string]any{}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: must be a YAML mapping that starts with apiVersion: %s and kind: %s", ConfigMapKey, APIVersion, DocumentKind)
	}

	// Check the shape first: encoding/json stops at the first problem and
	// names no path, and a webhook should show every problem at once.
	var errs field.ErrorList
	for _, h := range [...]struct{ key, want string }{{"apiVersion", APIVersion}, {"kind", DocumentKind}} {
		switch v := obj[h.key].(type) {
		case string:
			errs = append(errs, validateEnum(v, []string{h.want}, field.NewPath(h.key))...)
		case nil:
			errs = append(errs, validateEnum("", []string{h.want}, field.NewPath(h.key))...)
		} // checkShape reports any other type
	}
	errs = append(errs, checkShape(obj, reflect.TypeFor[Policy](), nil)...)
	if len(errs) > 0 {
		return nil, &Error{Errs: errs}
	}

	p := &Policy{}
	dec = json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		// checkShape accepts only what decodes; this is a bug if reached.
		return nil, fmt.Errorf("%s: %w", ConfigMapKey, err)
	}
	return p, nil
}

var (
	quantityType = reflect.TypeFor[resource.Quantity]()
	durationType = reflect.TypeFor[metav1.Duration]()
)

// checkShape reports where the decoded JSON value v does not fit type t.
// It accepts exactly what encoding/json would decode into t, except that
// field names must match their JSON names exactly (encoding/json ignores
// case) and numbers must be integers where t holds integers.
func checkShape(v any, t reflect.Type, path *field.Path) field.ErrorList {
	if v == nil { // null leaves the field unset
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case quantityType:
		if s, ok := scalarString(v); ok && plausibleQuantity(strings.TrimSpace(s)) {
			return nil
		}
		return field.ErrorList{field.Invalid(path, shown(v), "must be a quantity such as 500m, 2, 256Mi or 1Gi")}
	case durationType:
		if s, ok := v.(string); ok {
			if _, err := time.ParseDuration(s); err == nil {
				return nil
			}
		}
		return field.ErrorList{field.Invalid(path, shown(v), "must be a duration such as 90s, 5m or 1h30m")}
	}

	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return field.ErrorList{field.Invalid(path, shown(v), "must be a mapping of fields")}
		}
		fields := jsonFields(t)
		var errs field.ErrorList
		for _, k := range sortedKeys(obj) {
			f, ok := fields[k]
			if !ok {
				errs = append(errs, unknownField(path.Child(k), k, fields))
				continue
			}
			errs = append(errs, checkShape(obj[k], f.Type, path.Child(k))...)
		}
		return errs
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return field.ErrorList{field.Invalid(path, shown(v), "must be a mapping")}
		}
		var errs field.ErrorList
		for _, k := range sortedKeys(obj) {
			errs = append(errs, checkShape(obj[k], t.Elem(), path.Key(k))...)
		}
		return errs
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return field.ErrorList{field.Invalid(path, shown(v), "must be a list")}
		}
		var errs field.ErrorList
		for i, e := range list {
			errs = append(errs, checkShape(e, t.Elem(), path.Index(i))...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return field.ErrorList{field.Invalid(path, shown(v), "must be a string; quote numbers and booleans")}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return field.ErrorList{field.Invalid(path, shown(v), "must be true or false")}
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			detail := "must be a whole number"
			if _, isString := v.(string); isString {
				detail += ", without quotes"
			}
			return field.ErrorList{field.Invalid(path, shown(v), detail)}
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			detail := "must be a whole number"
			if errors.Is(err, strconv.ErrRange) {
				detail = fmt.Sprintf("must be at most %d", int64(1)<<(t.Bits()-1)-1)
			}
			return field.ErrorList{field.Invalid(path, shown(v), detail)}
		}
	default:
		return field.ErrorList{field.InternalError(path, fmt.Errorf("no shape check for %s", t))}
	}
	return nil
}

// Bounds on a quantity's text, checked before parsing it: ParseQuantity
// reads the exponent into an int32, so 1e3000000000 wraps around to a huge
// negative scale that takes forever to round, and comparing quantities
// rescales them to a common exponent. No real cpu, memory or disk needs
// more than this.
const (
	maxQuantityLength   = 64
	maxQuantityExponent = 64
)

// plausibleQuantity reports whether s is a quantity of a size that is safe
// to parse and compare.
func plausibleQuantity(s string) bool {
	if len(s) > maxQuantityLength {
		return false
	}
	// A decimal exponent is an e or E followed by a signed integer; E alone,
	// or Ei, is a suffix.
	if i := strings.IndexAny(s, "eE"); i >= 0 && i+1 < len(s) && s[i+1] != 'i' {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp < -maxQuantityExponent || exp > maxQuantityExponent {
			return false
		}
	}
	_, err := resource.ParseQuantity(s)
	return err == nil
}

// jsonFields maps the JSON names of t's fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = f
	}
	return fields
}

func unknownField(path *field.Path, name string, fields map[string]reflect.StructField) *field.Error {
	names := sortedKeys(fields)
	detail := "unknown field; "
	if s := closest(name, names); s != "" {
		detail += fmt.Sprintf("did you mean %q? ", s)
	}
	detail += "fields here: " + strings.Join(names, ", ")
	return field.Invalid(path, field.OmitValueType{}, detail)
}

// closest returns the candidate a misspelling most likely meant: the same
// word in another case, or one at most two edits away.
func closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// scalarString returns a string or number as text.
func scalarString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case json.Number:
		return s.String(), true
	}
	return "", false
}

// shown is how a bad value appears in an error: scalars as they are,
// mappings and lists not at all, since they can be long.
func shown(v any) any {
	switch v.(type) {
	case string, bool, json.Number:
		return v
	}
	return field.OmitValueType{}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
