package nodeimage

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/taskgate/taskgate/ociimage"
)

// BusyboxSource is the busybox Busybox copies into its images. Debian's
// busybox-static installs it; being statically linked, it runs in an image
// that has no libc.
const BusyboxSource = "/bin/busybox"

// WriteArchive writes specs to one docker-archive tarball at path with
// ociimage.WriteArchive, for `ctr -n k8s.io images import`, after checking
// that no reference names the tag latest.
func WriteArchive(path string, specs ...ociimage.Spec) error {
	for _, s := range specs {
		if _, err := parseRef(s.Ref); err != nil {
			return err
		}
	}
	return ociimage.WriteArchive(path, specs...)
}

// Busybox is a shell image: busybox copied from BusyboxSource with the
// common applets linked in /bin, a world-writable /tmp, and users root (0),
// app (1001, home /home/app owned by it), nonroot (65532, as in distroless)
// and nobody (65534), so tests can run it as root, as a number with no
// passwd entry ("1000"), or as a name. Its entrypoint is /bin/sh, so a
// pod's args are a shell's. files are added to the layer, e.g. a demo
// app's commands.
func Busybox(ref, user string, files ...ociimage.File) ociimage.Spec {
	symlinks := make(map[string]string, len(busyboxApplets))
	for _, applet := range busyboxApplets {
		symlinks["/bin/"+applet] = "/bin/busybox"
	}
	return ociimage.Spec{
		Ref:        ref,
		Entrypoint: []string{"/bin/sh"},
		User:       user,
		Files: append([]ociimage.File{
			{Path: "/bin/busybox", Source: BusyboxSource, Mode: 0o755, Hint: "install the Debian package busybox-static"},
			{Path: "/etc/passwd", Content: []byte(busyboxPasswd), Mode: 0o644},
			{Path: "/etc/group", Content: []byte(busyboxGroup), Mode: 0o644},
		}, files...),
		Symlinks: symlinks,
		Dirs: map[string]int64{
			"/tmp":          0o1777,
			"/root":         0o700,
			"/home/app":     0o755,
			"/home/nonroot": 0o700,
		},
		Owners: map[string]ociimage.Owner{
			"/home/app":     {UID: 1001, GID: 1001},
			"/home/nonroot": {UID: 65532, GID: 65532},
		},
	}
}

// Pause is the pod sandbox image containerd's CRI starts for every pod:
// pauseBinary (built from test/cmd/pause) at /pause, run as 65535 like
// Kubernetes' own pause image, since the real one may not be pulled.
func Pause(ref, pauseBinary string) ociimage.Spec {
	return ociimage.Spec{
		Ref:        ref,
		Entrypoint: []string{"/pause"},
		User:       "65535",
		Files:      []ociimage.File{{Path: "/pause", Source: pauseBinary, Mode: 0o755}},
	}
}

// Tekton is the image of one of Tekton's helper commands (name is
// "entrypoint", "nop", "workingdirinit", ...), laid out as ko builds it on
// a distroless base: binary at /ko-app/<name>, which Tekton's pod specs
// name in their commands, as the entrypoint, ko's PATH (ending in
// /ko-app), user nonroot (65532), distroless' /etc/passwd and a
// world-writable /tmp.
func Tekton(ref, binary, name string) ociimage.Spec {
	app := "/ko-app/" + name
	return ociimage.Spec{
		Ref:        ref,
		Entrypoint: []string{app},
		Env:        []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app"},
		User:       "65532",
		Files: []ociimage.File{
			{Path: app, Source: binary, Mode: 0o755},
			{Path: "/etc/passwd", Content: []byte(distrolessPasswd), Mode: 0o644},
			{Path: "/etc/group", Content: []byte(distrolessGroup), Mode: 0o644},
		},
		Dirs: map[string]int64{
			"/tmp":          0o1777,
			"/home/nonroot": 0o700,
		},
		Owners: map[string]ociimage.Owner{"/home/nonroot": {UID: 65532, GID: 65532}},
	}
}

// busyboxApplets are linked in /bin: what test scripts and Tekton steps
// commonly call by name.
var busyboxApplets = []string{
	"awk", "basename", "cat", "chmod", "cp", "cut", "date", "dd", "dirname",
	"echo", "env", "expr", "false", "find", "grep", "head", "hostname", "id",
	"kill", "ln", "ls", "mkdir", "mv", "nc", "printf", "pwd", "rm", "sed",
	"seq", "sh", "sleep", "sort", "stat", "tail", "test", "timeout", "touch",
	"tr", "true", "uname", "wc", "xargs", "yes",
}

const (
	busyboxPasswd = `root:x:0:0:root:/root:/bin/sh
app:x:1001:1001:app:/home/app:/bin/sh
nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`
	busyboxGroup = `root:x:0:
app:x:1001:
nonroot:x:65532:
nobody:x:65534:
`
	distrolessPasswd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`
	distrolessGroup = `root:x:0:
nobody:x:65534:
nonroot:x:65532:
`
)

// parseRef parses a Spec's Ref. A registry and a tag must be explicit, so
// the name containerd stores is the one a pod spec gives, and the tag must
// not be latest, for which kubelet's default pull policy is Always.
func parseRef(ref string) (name.Tag, error) {
	tag, err := ociimage.ParseTag(ref)
	if err != nil {
		return name.Tag{}, err
	}
	if tag.TagStr() == name.DefaultTag {
		return name.Tag{}, fmt.Errorf("image reference %q: tag latest would make kubelet pull it", ref)
	}
	return tag, nil
}
