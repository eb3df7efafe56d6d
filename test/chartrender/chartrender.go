package chartrender

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// helmBinaries maps a checkout's root to its pinned helm's path in the
// build cache, found once: each `go tool` call costs most of a second.
var helmBinaries sync.Map

// helmBinary finds, and builds if need be, the pinned helm of the
// checkout at root.
func helmBinary(root string) (string, error) {
	find, _ := helmBinaries.LoadOrStore(root, sync.OnceValues(func() (string, error) {
		modfile := "-modfile=" + filepath.Join(root, "tools", "go.mod")
		cmd := exec.Command("go", "tool", modfile, "-n", "helm")
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("finding the pinned helm: %w", err)
		}
		bin := strings.TrimSpace(string(out))
		if _, err := os.Stat(bin); err != nil {
			// -n names the binary without building it; running it builds it.
			build := exec.Command("go", "tool", modfile, "helm", "version")
			build.Dir = root
			if out, err := build.CombinedOutput(); err != nil {
				return "", fmt.Errorf("building the pinned helm: %w: %s", err, out)
			}
		}
		return bin, nil
	}))
	return find.(func() (string, error))()
}

// Helm runs the pinned helm of the checkout at root, in root, and returns
// its output, stdout then stderr.
func Helm(root string, args ...string) (string, error) {
	bin, err := helmBinary(root)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String() + stderr.String(), err
}

// Decode splits a YAML stream into objects, skipping empty documents.
func Decode(stream string) ([]map[string]any, error) {
	var objs []map[string]any
	for _, doc := range strings.Split(stream, "\n---") {
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("decoding a rendered object: %w\n%s", err, doc)
		}
		if len(obj) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// Find returns the object of a kind and name, name "" matching any, or nil.
func Find(objs []map[string]any, kind, name string) map[string]any {
	for _, obj := range objs {
		if obj["kind"] == kind && (name == "" || Field[string](obj, "metadata", "name") == name) {
			return obj
		}
	}
	return nil
}

// Field walks nested maps, and lists by index, to a value of type T; the
// zero value if the path is missing.
func Field[T any](obj any, path ...any) T {
	var zero T
	cur := obj
	for _, p := range path {
		switch key := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return zero
			}
			cur = m[key]
		case int:
			l, ok := cur.([]any)
			if !ok || key >= len(l) {
				return zero
			}
			cur = l[key]
		}
	}
	v, _ := cur.(T)
	return v
}

// AddPrinterColumn adds a printer column to the first version of the CRD
// in file, a chart's files/crds/*.yaml, as a newer release's CRD would
// differ. The file is edited as a map, so it stays controller-gen's but for
// the column.
func AddPrinterColumn(file, name, jsonPath string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	crd := map[string]any{}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return fmt.Errorf("decoding %s: %w", file, err)
	}
	version := Field[map[string]any](crd, "spec", "versions", 0)
	if version == nil {
		return fmt.Errorf("%s has no spec.versions[0]", file)
	}
	columns, _ := version["additionalPrinterColumns"].([]any)
	version["additionalPrinterColumns"] = append(columns, map[string]any{"name": name, "type": "string", "jsonPath": jsonPath})
	if b, err = yaml.Marshal(crd); err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}
