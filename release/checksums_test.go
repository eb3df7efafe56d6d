package release

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteChecksums(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"b.tgz": "chart", "a.oci.tar": "", "c": "abc", "stale": "not listed"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteChecksums(dir, []string{"c", "b.tgz", "a.oci.tar"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	// sha256sum's format and values: printf '' | sha256sum, and so on.
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.oci.tar\n" +
		"cc57fc1903e444cf6a726490b43b27ee9f87facc037f86872201847c565b45fb  b.tgz\n" +
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  c\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("SHA256SUMS (-want +got):\n%s", diff)
	}
}

func TestWriteChecksumsErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"a", "a"}, "writing SHA256SUMS: a is given twice"},
		{[]string{"sub/a"}, `writing SHA256SUMS: "sub/a" is not a file of ` + dir},
		{[]string{"SHA256SUMS"}, `writing SHA256SUMS: "SHA256SUMS" is not a file of ` + dir},
		{[]string{"missing"}, "writing SHA256SUMS: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
	}
	for _, tt := range tests {
		if err := WriteChecksums(dir, tt.names); err == nil || err.Error() != tt.want {
			t.Errorf("WriteChecksums(%v): %v, want %q", tt.names, err, tt.want)
		}
	}
}
