package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ChecksumsFile is the name of the checksums file in a dist directory.
const ChecksumsFile = "SHA256SUMS"

// WriteChecksums writes dir/SHA256SUMS: a line "<sha256 hex>  <name>" for
// each of names (files in dir), sorted by name, which `sha256sum -c
// SHA256SUMS` checks in dir.
func WriteChecksums(dir string, names []string) error {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var b strings.Builder
	for i, name := range sorted {
		if name != filepath.Base(name) || name == ChecksumsFile {
			return fmt.Errorf("writing %s: %q is not a file of %s", ChecksumsFile, name, dir)
		}
		if i > 0 && sorted[i-1] == name {
			return fmt.Errorf("writing %s: %s is given twice", ChecksumsFile, name)
		}
		sum, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("writing %s: %w", ChecksumsFile, err)
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	if err := os.WriteFile(filepath.Join(dir, ChecksumsFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", ChecksumsFile, err)
	}
	return nil
}

// fileSHA256 is the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
