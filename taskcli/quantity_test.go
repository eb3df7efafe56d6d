package taskcli

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Cloud Foundry units are powers of 1024, in any case.
		{"512M", "512Mi"},
		{"512MB", "512Mi"},
		{"512m", "512Mi"},
		{"100mb", "100Mi"},
		{"1G", "1Gi"},
		{"2GB", "2Gi"},
		{"1g", "1Gi"},
		{"1.5G", "1536Mi"},
		{"64K", "64Ki"},
		{"64KB", "64Ki"},
		{"1T", "1Ti"},
		{"1024B", "1Ki"},
		{"1000b", "1k"}, // 1000 bytes, in the API's canonical form
		{" 256M ", "256Mi"},
		// Kubernetes quantities pass through.
		{"512Mi", "512Mi"},
		{"1Gi", "1Gi"},
		{"1536Mi", "1536Mi"},
		{"500000000", "500M"},
		{"1e9", "1e9"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseSize(tt.in)
			if err != nil {
				t.Fatalf("ParseSize(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("ParseSize(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `"" is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi`},
		{"lots", `"lots" is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi`},
		{"1X", `"1X" is not a size: use a Cloud Foundry size such as 512M or 2G, or a Kubernetes quantity such as 512Mi`},
		{"0", `"0" must be greater than 0`},
		{"0M", `"0M" must be greater than 0`},
		{"-1G", `"-1G" must be greater than 0`},
		{"0.3K", `"0.3K" is not a whole number of bytes`},
		{"1.5", `"1.5" is not a whole number of bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseSize(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ParseSize(%q) error = %v, want %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseCPU(t *testing.T) {
	for in, want := range map[string]string{"500m": "500m", "2": "2", "0.5": "500m"} {
		q, err := ParseCPU(in)
		if err != nil || q.String() != want {
			t.Errorf("ParseCPU(%q) = %s, %v; want %s", in, q.String(), err, want)
		}
	}
	for in, want := range map[string]string{
		"0":    `"0" must be greater than 0`,
		"fast": `"fast" is not a CPU amount: use cores, such as 2 or 0.5, or millicores, such as 500m`,
	} {
		if _, err := ParseCPU(in); err == nil || err.Error() != want {
			t.Errorf("ParseCPU(%q) error = %v, want %s", in, err, want)
		}
	}
}
