package patch

import (
	"maps"
	"slices"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
)

// EscapeToken escapes one JSON-pointer reference token (RFC 6901), such as
// a label key with a slash.
func EscapeToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// AddToMap adds the entries of add to the JSON object at path: the whole
// object when it does not exist (or is null), else one key at a time in
// sorted order, so the operations are deterministic.
func AddToMap[K ~string, V any](exists bool, path string, add map[K]V) []jsonpatch.JsonPatchOperation {
	if len(add) == 0 {
		return nil
	}
	if !exists {
		return []jsonpatch.JsonPatchOperation{jsonpatch.NewOperation("add", path, add)}
	}
	keys := slices.Sorted(maps.Keys(add))
	ops := make([]jsonpatch.JsonPatchOperation, len(keys))
	for i, k := range keys {
		ops[i] = jsonpatch.NewOperation("add", path+"/"+EscapeToken(string(k)), add[k])
	}
	return ops
}
