package release

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

// SPDX 2.3 JSON, as much of it as a Go binary's build info fills.
type (
	spdxDocument struct {
		SPDXVersion       string             `json:"spdxVersion"`
		DataLicense       string             `json:"dataLicense"`
		SPDXID            string             `json:"SPDXID"`
		Name              string             `json:"name"`
		DocumentNamespace string             `json:"documentNamespace"`
		CreationInfo      spdxCreationInfo   `json:"creationInfo"`
		Packages          []spdxPackage      `json:"packages"`
		Relationships     []spdxRelationship `json:"relationships"`
	}
	spdxCreationInfo struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	}
	spdxPackage struct {
		Name                  string            `json:"name"`
		SPDXID                string            `json:"SPDXID"`
		VersionInfo           string            `json:"versionInfo,omitempty"`
		Supplier              string            `json:"supplier"`
		DownloadLocation      string            `json:"downloadLocation"`
		FilesAnalyzed         bool              `json:"filesAnalyzed"`
		Checksums             []spdxChecksum    `json:"checksums,omitempty"`
		ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
		PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
		Comment               string            `json:"comment,omitempty"`
	}
	spdxChecksum struct {
		Algorithm     string `json:"algorithm"`
		ChecksumValue string `json:"checksumValue"`
	}
	spdxExternalRef struct {
		ReferenceCategory string `json:"referenceCategory"`
		ReferenceType     string `json:"referenceType"`
		ReferenceLocator  string `json:"referenceLocator"`
	}
	spdxRelationship struct {
		SPDXElementID      string `json:"spdxElementId"`
		RelationshipType   string `json:"relationshipType"`
		RelatedSPDXElement string `json:"relatedSpdxElement"`
	}
)

// SBOMOptions say what an SBOM describes beyond the build info.
type SBOMOptions struct {
	// Name is the document's name, e.g. taskgate-0.1.0-linux-amd64.
	Name string
	// Namespace is the document's unique URI; a binary's digest in it
	// makes it unique to what it describes.
	Namespace string
	// Version is the main module's version: a binary built with
	// -buildvcs=false says "(devel)", so the release's is given here.
	Version string
	// Created is the document's creation time, SOURCE_DATE_EPOCH's;
	// zero means the Unix epoch.
	Created time.Time
}

// SBOM is an SPDX 2.3 JSON document of a Go binary's build info: the main
// module (the binary, with its main package as the purl's subpath), the
// Go standard library of the toolchain that built it, and every module it
// links, each with its version and a Package URL (pkg:golang/...@v...),
// the main module depending on each. A module's go.sum hash (h1:, the
// SHA-256 of its file list) is its SHA256 checksum, hex-encoded, as ko
// writes it; a module replaced by another is listed as its replacement,
// which is what the binary holds.
func SBOM(info *debug.BuildInfo, opts SBOMOptions) ([]byte, error) {
	if info == nil || info.Main.Path == "" {
		return nil, fmt.Errorf("writing an SBOM: the binary has no main module in its build info")
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	version := opts.Version
	if version == "" {
		version = info.Main.Version
	}
	main := spdxPackage{
		Name:                  info.Main.Path,
		SPDXID:                spdxID(info.Main.Path),
		VersionInfo:           version,
		Supplier:              "NOASSERTION",
		DownloadLocation:      "NOASSERTION",
		PrimaryPackagePurpose: "APPLICATION",
		ExternalRefs:          []spdxExternalRef{purlRef(info.Main.Path, goVersion(version), strings.TrimPrefix(strings.TrimPrefix(info.Path, info.Main.Path), "/"))},
		Comment:               buildSettings(info),
	}
	doc := spdxDocument{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              opts.Name,
		DocumentNamespace: opts.Namespace,
		CreationInfo: spdxCreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: taskgate-release"},
		},
		Packages: []spdxPackage{main},
		Relationships: []spdxRelationship{
			{SPDXElementID: "SPDXRef-DOCUMENT", RelationshipType: "DESCRIBES", RelatedSPDXElement: main.SPDXID},
		},
	}
	deps := []spdxPackage{{
		Name:             "stdlib",
		SPDXID:           spdxID("stdlib"),
		VersionInfo:      info.GoVersion,
		Supplier:         "Organization: Go",
		DownloadLocation: "https://go.dev/dl/",
		ExternalRefs:     []spdxExternalRef{purlRef("stdlib", strings.TrimPrefix(info.GoVersion, "go"), "")},
	}}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		p := spdxPackage{
			Name:             d.Path,
			SPDXID:           spdxID(d.Path),
			VersionInfo:      d.Version,
			Supplier:         "NOASSERTION",
			DownloadLocation: "NOASSERTION",
		}
		if d.Version != "" {
			// A module replaced by a directory has no version and no
			// Package URL that names what it held.
			p.DownloadLocation = "https://proxy.golang.org/" + d.Path + "/@v/" + d.Version + ".zip"
			p.ExternalRefs = []spdxExternalRef{purlRef(d.Path, d.Version, "")}
		}
		if d.Sum != "" {
			sum, err := h1Hex(d.Sum)
			if err != nil {
				return nil, fmt.Errorf("writing an SBOM: module %s@%s: %w", d.Path, d.Version, err)
			}
			p.Checksums = []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: sum}}
		}
		deps = append(deps, p)
	}
	for _, p := range deps {
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelationship{
			SPDXElementID: main.SPDXID, RelationshipType: "DEPENDS_ON", RelatedSPDXElement: p.SPDXID,
		})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing an SBOM: %w", err)
	}
	return append(b, '\n'), nil
}

// spdxUnsafe is what an SPDX identifier may not hold: only letters,
// digits, "." and "-" may follow "SPDXRef-".
var spdxUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// spdxID identifies a module's package; a binary links one version of
// each module, so its path is unique.
func spdxID(modulePath string) string {
	return "SPDXRef-Package-" + spdxUnsafe.ReplaceAllString(modulePath, "-")
}

// purlRef is the Package URL of a Go module: pkg:golang/<path>@<version>,
// with "+" of +incompatible escaped as the spec wants, and #<subpath>.
func purlRef(modulePath, version, subpath string) spdxExternalRef {
	purl := "pkg:golang/" + modulePath
	if version != "" {
		purl += "@" + strings.ReplaceAll(version, "+", "%2B")
	}
	if subpath != "" {
		purl += "#" + subpath
	}
	return spdxExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl}
}

// goVersion is a release version as a Go module version: v-prefixed.
func goVersion(v string) string {
	if v == "" || v == "(devel)" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

// h1Hex is a go.sum hash ("h1:" and base64 of a SHA-256) in hex.
func h1Hex(sum string) (string, error) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", fmt.Errorf("checksum %q is not a go.sum h1: hash", sum)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("checksum %q is not a base64 SHA-256", sum)
	}
	return hex.EncodeToString(b), nil
}

// buildSettings says how the binary was built, e.g.
// "go1.26.8 -trimpath=true CGO_ENABLED=0 GOARCH=arm64 GOOS=linux".
func buildSettings(info *debug.BuildInfo) string {
	parts := []string{info.GoVersion}
	for _, s := range info.Settings {
		parts = append(parts, s.Key+"="+s.Value)
	}
	return "Built with " + strings.Join(parts, " ")
}
