package policy

import (
	"testing"
)

const detection = `tasks:
  launcherDetection:
    registries: [ghcr.io, "registry.example.com:5000", docker.io, "127.0.0.1:5000"]
`

func TestLauncherDetection(t *testing.T) {
	p := load(t, detection)
	tests := []struct {
		name     string
		policy   *Policy
		image    string
		outcome  LauncherDetectionOutcome
		registry string
		ref      string
	}{
		{name: "off by default", policy: Default(), image: "ghcr.io/shop/web:v1", outcome: DetectionOff},
		{name: "listed", image: "ghcr.io/shop/web:v1", outcome: DetectionAllowed, registry: "ghcr.io", ref: "ghcr.io/shop/web:v1"},
		{name: "listed with its port", image: "registry.example.com:5000/shop/web@sha256:" + sha,
			outcome: DetectionAllowed, registry: "registry.example.com:5000", ref: "registry.example.com:5000/shop/web@sha256:" + sha},
		{name: "loopback registry", image: "127.0.0.1:5000/e2e/buildpack:1", outcome: DetectionAllowed, registry: "127.0.0.1:5000", ref: "127.0.0.1:5000/e2e/buildpack:1"},
		{name: "docker.io is Docker Hub", image: "paketobuildpacks/builder", outcome: DetectionAllowed,
			registry: "index.docker.io", ref: "paketobuildpacks/builder"},
		{name: "host names are case-insensitive", image: "GHCR.io/shop/web:v1", outcome: DetectionAllowed, registry: "ghcr.io", ref: "GHCR.io/shop/web:v1"},
		{name: "another port is another registry", image: "registry.example.com:5001/shop/web:v1",
			outcome: DetectionRegistryNotListed, registry: "registry.example.com:5001"},
		{name: "without the port", image: "registry.example.com/shop/web:v1",
			outcome: DetectionRegistryNotListed, registry: "registry.example.com"},
		{name: "a subdomain is not listed", image: "evil.ghcr.io/shop/web:v1", outcome: DetectionRegistryNotListed, registry: "evil.ghcr.io"},
		{name: "a suffix is not listed", image: "ghcr.io.evil.example/shop/web:v1", outcome: DetectionRegistryNotListed, registry: "ghcr.io.evil.example"},
		{name: "the manager's neighbours", image: "169.254.169.254:80/latest/meta-data", outcome: DetectionRegistryNotListed, registry: "169.254.169.254:80"},
		{name: "not a reference", image: "ghcr.io/Shop/web:v1", outcome: DetectionInvalidImage},
		{name: "empty", image: "", outcome: DetectionInvalidImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := p
			if tt.policy != nil {
				pol = tt.policy
			}
			d := pol.LauncherDetection(tt.image)
			ref := ""
			if d.Reference != nil {
				ref = d.Reference.String()
			}
			if d.Outcome != tt.outcome || d.Registry != tt.registry || ref != tt.ref {
				t.Errorf("LauncherDetection(%q) = %s, %q, %q; want %s, %q, %q", tt.image, d.Outcome, d.Registry, ref, tt.outcome, tt.registry, tt.ref)
			}
		})
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLauncherDetectionValidation(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{
			name: "empty entry",
			body: `tasks: {launcherDetection: {registries: [""]}}`,
			want: `policy.yaml: tasks.launcherDetection.registries[0]: Required value: a registry host such as ghcr.io or registry.example.com:5000`,
		},
		{
			name: "wildcard",
			body: `tasks: {launcherDetection: {registries: ["*.example.com"]}}`,
			want: `policy.yaml: tasks.launcherDetection.registries[0]: Invalid value: "*.example.com": must be an exact host or host:port; wildcards are not supported, so list each registry the manager may read`,
		},
		{
			name: "scheme and path",
			body: `tasks: {launcherDetection: {registries: [ghcr.io, "https://ghcr.io", ghcr.io/shop, "ghcr.io:", "ghcr.io:99999"]}}`,
			want: `policy.yaml: tasks.launcherDetection.registries[1]: Invalid value: "https://ghcr.io": must be a host or host:port, without a scheme or path, for example ghcr.io or registry.example.com:5000; ` +
				`tasks.launcherDetection.registries[2]: Invalid value: "ghcr.io/shop": must be a host or host:port, without a scheme or path, for example ghcr.io or registry.example.com:5000; ` +
				`tasks.launcherDetection.registries[3]: Invalid value: "ghcr.io:": must be a host or host:port, without a scheme or path, for example ghcr.io or registry.example.com:5000; ` +
				`tasks.launcherDetection.registries[4]: Invalid value: "ghcr.io:99999": must be a host or host:port, without a scheme or path, for example ghcr.io or registry.example.com:5000`,
		},
		{
			name: "globs",
			body: `tasks: {launcherDetection: {registries: ["[::1]:5000", "registry-?.example.com", "[a-z].example.com"]}}`,
			want: `policy.yaml: tasks.launcherDetection.registries[1]: Invalid value: "registry-?.example.com": must be an exact host or host:port; wildcards are not supported, so list each registry the manager may read; ` +
				`tasks.launcherDetection.registries[2]: Invalid value: "[a-z].example.com": must be a host or host:port, without a scheme or path, for example ghcr.io or registry.example.com:5000`,
		},
		{
			name: "uppercase",
			body: `tasks: {launcherDetection: {registries: [GHCR.io]}}`,
			want: `policy.yaml: tasks.launcherDetection.registries[0]: Invalid value: "GHCR.io": must be lowercase: use ghcr.io`,
		},
		{
			name: "duplicates, docker.io being index.docker.io",
			body: `tasks: {launcherDetection: {registries: [ghcr.io, ghcr.io, docker.io, index.docker.io]}}`,
			want: `policy.yaml: tasks.launcherDetection.registries[1]: Duplicate value: "ghcr.io"; ` +
				`tasks.launcherDetection.registries[3]: Duplicate value: "index.docker.io"`,
		},
		{
			name: "not a list",
			body: `tasks: {launcherDetection: {registries: ghcr.io}}`,
			want: `policy.yaml: tasks.launcherDetection.registries: Invalid value: "ghcr.io": must be a list`,
		},
		{
			name: "misspelt",
			body: `tasks: {launcherDetection: {registry: [ghcr.io]}}`,
			want: `policy.yaml: tasks.launcherDetection.registry: Invalid value: unknown field; fields here: registries`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(header + tt.body + "\n"))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
