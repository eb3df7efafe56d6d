package release

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSBOM(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "github.com/taskgate/taskgate/cmd/taskgate",
		Main:      debug.Module{Path: "github.com/taskgate/taskgate", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/go-logr/logr", Version: "v1.4.3", Sum: "h1:CjnDlHq8ikf6E492q6eKboGOC0T8CDaOvkHCIg8idEI="},
			{Path: "github.com/docker/cli", Version: "v29.7.2+incompatible", Sum: "h1:dlkwallR8XqfeVnA2ELEhdwvb4lsSwuB4IgsG8Q9cLY="},
			{Path: "example.com/old", Version: "v1.0.0", Sum: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
				Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1", Sum: "h1://////////////////////////////////////////8="}},
			{Path: "example.com/local", Version: "v0.0.0", Replace: &debug.Module{Path: "../local"}},
		},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "CGO_ENABLED", Value: "0"},
			{Key: "GOARCH", Value: "arm64"},
			{Key: "GOOS", Value: "linux"},
		},
	}
	got, err := SBOM(info, SBOMOptions{
		Name:      "taskgate-0.1.0-linux-arm64",
		Namespace: "https://github.com/taskgate/taskgate/spdx/taskgate-0.1.0-linux-arm64-abc",
		Version:   "0.1.0",
		Created:   time.Unix(1765000000, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "spdxVersion": "SPDX-2.3",
  "dataLicense": "CC0-1.0",
  "SPDXID": "SPDXRef-DOCUMENT",
  "name": "taskgate-0.1.0-linux-arm64",
  "documentNamespace": "https://github.com/taskgate/taskgate/spdx/taskgate-0.1.0-linux-arm64-abc",
  "creationInfo": {
    "created": "2025-12-06T05:46:40Z",
    "creators": [
      "Tool: taskgate-release"
    ]
  },
  "packages": [
    {
      "name": "github.com/taskgate/taskgate",
      "SPDXID": "SPDXRef-Package-github.com-taskgate-taskgate",
      "versionInfo": "0.1.0",
      "supplier": "NOASSERTION",
      "downloadLocation": "NOASSERTION",
      "filesAnalyzed": false,
      "externalRefs": [
        {
          "referenceCategory": "PACKAGE-MANAGER",
          "referenceType": "purl",
          "referenceLocator": "pkg:golang/github.com/taskgate/taskgate@v0.1.0#cmd/taskgate"
        }
      ],
      "primaryPackagePurpose": "APPLICATION",
      "comment": "Built with go1.26.8 -trimpath=true CGO_ENABLED=0 GOARCH=arm64 GOOS=linux"
    },
    {
      "name": "stdlib",
      "SPDXID": "SPDXRef-Package-stdlib",
      "versionInfo": "go1.26.8",
      "supplier": "Organization: Go",
      "downloadLocation": "https://go.dev/dl/",
      "filesAnalyzed": false,
      "externalRefs": [
        {
          "referenceCategory": "PACKAGE-MANAGER",
          "referenceType": "purl",
          "referenceLocator": "pkg:golang/stdlib@1.26.8"
        }
      ]
    },
    {
      "name": "github.com/go-logr/logr",
      "SPDXID": "SPDXRef-Package-github.com-go-logr-logr",
      "versionInfo": "v1.4.3",
      "supplier": "NOASSERTION",
      "downloadLocation": "https://proxy.golang.org/github.com/go-logr/logr/@v/v1.4.3.zip",
      "filesAnalyzed": false,
      "checksums": [
        {
          "algorithm": "SHA256",
          "checksumValue": "0a39c3947abc8a47fa138f76aba78a6e818e0b44fc08368ebe41c2220f227442"
        }
      ],
      "externalRefs": [
        {
          "referenceCategory": "PACKAGE-MANAGER",
          "referenceType": "purl",
          "referenceLocator": "pkg:golang/github.com/go-logr/logr@v1.4.3"
        }
      ]
    },
    {
      "name": "github.com/docker/cli",
      "SPDXID": "SPDXRef-Package-github.com-docker-cli",
      "versionInfo": "v29.7.2+incompatible",
      "supplier": "NOASSERTION",
      "downloadLocation": "https://proxy.golang.org/github.com/docker/cli/@v/v29.7.2+incompatible.zip",
      "filesAnalyzed": false,
      "checksums": [
        {
          "algorithm": "SHA256",
          "checksumValue": "7659306a5951f17a9f7959c0d842c485dc2f6f896c4b0b81e0882c1bc43d70b6"
        }
      ],
      "externalRefs": [
        {
          "referenceCategory": "PACKAGE-MANAGER",
          "referenceType": "purl",
          "referenceLocator": "pkg:golang/github.com/docker/cli@v29.7.2%2Bincompatible"
        }
      ]
    },
    {
      "name": "example.com/fork",
      "SPDXID": "SPDXRef-Package-example.com-fork",
      "versionInfo": "v1.0.1",
      "supplier": "NOASSERTION",
      "downloadLocation": "https://proxy.golang.org/example.com/fork/@v/v1.0.1.zip",
      "filesAnalyzed": false,
      "checksums": [
        {
          "algorithm": "SHA256",
          "checksumValue": "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        }
      ],
      "externalRefs": [
        {
          "referenceCategory": "PACKAGE-MANAGER",
          "referenceType": "purl",
          "referenceLocator": "pkg:golang/example.com/fork@v1.0.1"
        }
      ]
    },
    {
      "name": "../local",
      "SPDXID": "SPDXRef-Package-..-local",
      "supplier": "NOASSERTION",
      "downloadLocation": "NOASSERTION",
      "filesAnalyzed": false
    }
  ],
  "relationships": [
    {
      "spdxElementId": "SPDXRef-DOCUMENT",
      "relationshipType": "DESCRIBES",
      "relatedSpdxElement": "SPDXRef-Package-github.com-taskgate-taskgate"
    },
    {
      "spdxElementId": "SPDXRef-Package-github.com-taskgate-taskgate",
      "relationshipType": "DEPENDS_ON",
      "relatedSpdxElement": "SPDXRef-Package-stdlib"
    },
    {
      "spdxElementId": "SPDXRef-Package-github.com-taskgate-taskgate",
      "relationshipType": "DEPENDS_ON",
      "relatedSpdxElement": "SPDXRef-Package-github.com-go-logr-logr"
    },
    {
      "spdxElementId": "SPDXRef-Package-github.com-taskgate-taskgate",
      "relationshipType": "DEPENDS_ON",
      "relatedSpdxElement": "SPDXRef-Package-github.com-docker-cli"
    },
    {
      "spdxElementId": "SPDXRef-Package-github.com-taskgate-taskgate",
      "relationshipType": "DEPENDS_ON",
      "relatedSpdxElement": "SPDXRef-Package-example.com-fork"
    },
    {
      "spdxElementId": "SPDXRef-Package-github.com-taskgate-taskgate",
      "relationshipType": "DEPENDS_ON",
      "relatedSpdxElement": "SPDXRef-Package-..-local"
    }
  ]
}
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("SBOM (-want +got):\n%s", diff)
	}
}

func TestSBOMErrors(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{{
		name: "no build info",
		want: "writing an SBOM: the binary has no main module in its build info",
	}, {
		name: "no main module",
		info: &debug.BuildInfo{GoVersion: "go1.26.8"},
		want: "writing an SBOM: the binary has no main module in its build info",
	}, {
		name: "a hash that is not h1",
		info: &debug.BuildInfo{Main: debug.Module{Path: "m"}, Deps: []*debug.Module{{Path: "d", Version: "v1.0.0", Sum: "h2:abc"}}},
		want: `writing an SBOM: module d@v1.0.0: checksum "h2:abc" is not a go.sum h1: hash`,
	}, {
		name: "a short hash",
		info: &debug.BuildInfo{Main: debug.Module{Path: "m"}, Deps: []*debug.Module{{Path: "d", Version: "v1.0.0", Sum: "h1:AAAA"}}},
		want: `writing an SBOM: module d@v1.0.0: checksum "h1:AAAA" is not a base64 SHA-256`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SBOM(tt.info, SBOMOptions{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPurl(t *testing.T) {
	tests := []struct {
		path, version, subpath, want string
	}{
		{"github.com/a/b", "v1.2.3", "", "pkg:golang/github.com/a/b@v1.2.3"},
		{"github.com/a/b", "v2.0.0+incompatible", "", "pkg:golang/github.com/a/b@v2.0.0%2Bincompatible"},
		{"github.com/a/b", "v0.0.0-20250101000000-abcdef123456", "cmd/x", "pkg:golang/github.com/a/b@v0.0.0-20250101000000-abcdef123456#cmd/x"},
		{"github.com/a/b", "", "", "pkg:golang/github.com/a/b"},
	}
	for _, tt := range tests {
		if got := purlRef(tt.path, tt.version, tt.subpath).ReferenceLocator; got != tt.want {
			t.Errorf("purl(%q, %q, %q) = %q, want %q", tt.path, tt.version, tt.subpath, got, tt.want)
		}
	}
	if got := strings.Join([]string{goVersion("0.1.0"), goVersion("v0.1.0"), goVersion("(devel)"), goVersion("")}, ","); got != "v0.1.0,v0.1.0,(devel)," {
		t.Errorf("goVersion: %q", got)
	}
}
