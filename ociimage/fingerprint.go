package ociimage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Fingerprint identifies what WriteArchive would write for specs: each
// Spec and the content of every file it copies. Builds are reproducible,
// so an archive written for the same fingerprint can be used again
// instead of compressing the same layers at every cluster start.
func Fingerprint(specs ...Spec) (string, error) {
	h := sha256.New()
	for _, s := range specs {
		// A source counts by its content, not where it sits: a binary
		// built into a fresh scratch directory is the same file.
		files := s.Files
		s.Files = make([]File, len(files))
		for i, f := range files {
			s.Files[i] = f
			s.Files[i].Source = ""
		}
		b, err := json.Marshal(s)
		if err != nil {
			return "", fmt.Errorf("encoding image %s: %w", s.Ref, err)
		}
		h.Write(b)
		for _, f := range files {
			if f.Source == "" {
				continue
			}
			fmt.Fprintf(h, "%s\x00", f.Path)
			if err := hashFile(h, f.Source); err != nil {
				return "", fmt.Errorf("image %s: %w", s.Ref, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
