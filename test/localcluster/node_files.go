package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/test/nodeimage"
)

// Images on the real node. None is ever pulled: the harness builds each
// and imports it into containerd, and no tag is :latest, so kubelet's
// default pull policy (IfNotPresent) finds them.
const (
	// ImageShellRoot is busybox with no image user: it runs as root.
	ImageShellRoot = "example.invalid/localcluster/shell:root"
	// ImageShellUID is busybox that runs as the numeric user 1000.
	ImageShellUID = "example.invalid/localcluster/shell:uid-1000"
	// ImageShellNamedUser is busybox that runs as the user "app" (1001),
	// a name kubelet cannot check against runAsNonRoot.
	ImageShellNamedUser = "example.invalid/localcluster/shell:user-app"
	// ImageDemoApp is the demo App's image, built from examples/image: a
	// shell and stand-ins for the shop's commands, as user 1000.
	ImageDemoApp = "registry.example.com/shop/web:v1.42.0"
	// ImagePostgres is PostgreSQL 15 from Debian's packages; see
	// nodeimage.Postgres for what a pod of it needs.
	ImagePostgres = "example.invalid/localcluster/postgres:15"
	// ImageNetcheck is test/cmd/netcheck: a webhook server and an
	// in-cluster API client, for tests of the cluster's network.
	ImageNetcheck = "example.invalid/localcluster/netcheck:1"
	// ImageBuildpack is shaped like a buildpack (CNB) image: see
	// nodeimage.Buildpack.
	ImageBuildpack = "example.invalid/localcluster/buildpack:1"

	pauseImage = "example.invalid/localcluster/pause:1"
)

// tektonImage is the reference the Tekton controller's image flags name.
func tektonImage(name string) string {
	return "example.invalid/tekton/" + name + ":" + TektonVersion
}

// writeFiles writes the configuration of containerd, kubelet and CNI, and
// the files bound over the machine's sysctls and resolver.
func (n *realNode) writeFiles(c *Cluster) error {
	kubeletPort, err := freePort()
	if err != nil {
		return err
	}
	healthzPort, err := freePort()
	if err != nil {
		return err
	}
	streamPort, err := freePort()
	if err != nil {
		return err
	}
	files := map[string]string{
		"containerd.toml":        containerdConfig(n.dir, streamPort),
		"kubelet.yaml":           kubeletConfig(n.dir, n.socket, kubeletPort, healthzPort),
		"cni/10-bridge.conflist": cniConfig(filepath.Join(n.dir, "cni", "ipam")),
		// The machine's resolver is not on loopback: an accidental pull
		// would send a DNS query off the machine. This one fails at once.
		"resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
		"containerd/certs.d/" + RegistryHost + "/hosts.toml": registryHostsTOML(),
	}
	for path, value := range hostSysctls {
		files[filepath.Join("sysctl", sysctlFile(path))] = value + "\n"
	}
	for name, content := range files {
		path := filepath.Join(n.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return nil
}

// containerdConfig is containerd 1.6's configuration (version 2): every
// path under dir, the CRI plugin with the local pause image, and what an
// unprivileged-looking root here lacks (AppArmor, hugetlb, raising OOM
// scores) turned off.
func containerdConfig(dir, streamPort string) string {
	return `version = 2
root = "` + dir + `/containerd/root"
state = "` + dir + `/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "` + dir + `/containerd.sock"
[ttrpc]
  address = "` + dir + `/containerd.sock.ttrpc"
[debug]
  address = "` + dir + `/containerd-debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "` + pauseImage + `"
  disable_apparmor = true
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "` + streamPort + `"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "` + cniPluginDir + `"
    conf_dir = "` + dir + `/cni"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "` + dir + `/containerd/certs.d"
`
}

// kubeletConfig is the node's KubeletConfiguration. kubelet serves the
// apiserver on NodeIP and its health on 127.0.0.1, both inside the
// cluster's namespace; pods resolve names through kube-dns; the machine's cgroup v1, swap and kernel settings are
// accepted as they are; eviction and image GC never act, so no test sees a
// pod evicted or an image removed for the machine's sake; unpinned pods
// (meant for kwok) are kept off by the taint.
func kubeletConfig(dir, socket, port, healthzPort string) string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://` + socket + `
address: ` + NodeIP + `
port: ` + port + `
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ` + healthzPort + `
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
failSwapOn: false
cgroupsPerQOS: true
enforceNodeAllocatable: []
protectKernelDefaults: false
localStorageCapacityIsolation: true
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
resolvConf: ""
clusterDNS: [` + DNSServiceIP + `]
clusterDomain: cluster.local
podLogsDir: ` + dir + `/pod-logs
syncFrequency: 10s
nodeStatusUpdateFrequency: 10s
nodeLeaseDurationSeconds: 40
oomScoreAdj: 0
maxPods: 50
registerWithTaints:
- {key: ` + RealNodeTaint + `, value: "true", effect: NoSchedule}
`
}

// cniPluginDir holds Debian's containernetworking-plugins.
const cniPluginDir = "/usr/lib/cni"

// cniConfig puts each pod on the bridge with an address of its own from
// PodCIDR. The bridge is the pods' gateway to the node and to Services;
// hairpin mode lets a pod reach itself through its own Service. IPAM keeps
// its leases in ipamDir, not the machine's /var/lib/cni.
func cniConfig(ipamDir string) string {
	return `{"cniVersion": "0.4.0", "name": "localcluster", "plugins": [
  {"type": "bridge", "bridge": "` + bridgeName + `", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "` + ipamDir + `",
            "ranges": [[{"subnet": "` + PodCIDR + `", "gateway": "` + podGateway + `"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}
]}
`
}

// importImages builds every image the node runs and imports them into
// containerd's Kubernetes namespace.
func (n *realNode) importImages(ctx context.Context, c *Cluster, repoRoot string) error {
	programs := map[string]string{}
	for _, name := range []string{"pause", "netcheck", "launcher"} {
		programs[name] = filepath.Join(n.dir, name)
		// test/ is a module of its own: its packages build from there.
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", programs[name], "./cmd/"+name)
		build.Dir = filepath.Join(repoRoot, "test")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("building test/cmd/%s: %w: %s", name, err, out)
		}
	}
	demo, err := demoAppFiles(filepath.Join(repoRoot, "examples", "image"))
	if err != nil {
		return err
	}
	pgDir, err := fetchPostgres(ctx, repoRoot)
	if err != nil {
		return err
	}
	postgres, err := nodeimage.Postgres(ImagePostgres, pgDir)
	if err != nil {
		return err
	}
	psql, err := nodeimage.PsqlFiles(pgDir)
	if err != nil {
		return err
	}
	specs := []ociimage.Spec{
		nodeimage.Pause(pauseImage, programs["pause"]),
		nodeimage.Tekton(tektonImage("entrypoint"), c.Binaries.TektonEntrypoint, "entrypoint"),
		nodeimage.Tekton(tektonImage("nop"), c.Binaries.TektonNop, "nop"),
		nodeimage.Tekton(tektonImage("workingdirinit"), c.Binaries.TektonWorkingDirInit, "workingdirinit"),
		// Tekton's script mode writes step scripts with its shell image.
		nodeimage.Busybox(tektonImage("busybox"), ""),
		nodeimage.Busybox(ImageShellRoot, ""),
		nodeimage.Busybox(ImageShellUID, "1000"),
		nodeimage.Busybox(ImageShellNamedUser, "app"),
		// The demo's migration talks to its database with psql.
		nodeimage.Busybox(ImageDemoApp, "1000", append(demo, psql...)...),
		nodeimage.Busybox(ImageNetcheck, "1000", ociimage.File{Path: "/usr/local/bin/netcheck", Source: programs["netcheck"], Mode: 0o755}),
		nodeimage.Buildpack(ImageBuildpack, programs["launcher"]),
		postgres,
	}
	archive, err := imageArchive(specs)
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "ctr", "--address", n.socket, "--namespace", "k8s.io", "images", "import", archive).CombinedOutput(); err != nil {
		return fmt.Errorf("importing images into containerd: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// imageArchive returns an archive of the images, from the cache when an
// earlier start wrote one of the same images: compressing PostgreSQL's
// layer alone takes seconds. Only the newest archive is kept.
func imageArchive(specs []ociimage.Spec) (string, error) {
	fp, err := ociimage.Fingerprint(specs...)
	if err != nil {
		return "", fmt.Errorf("fingerprinting the real node's images: %w", err)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "images")
	archive := filepath.Join(dir, fp+".tar")
	if _, err := os.Stat(archive); err == nil {
		return archive, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*"))
	tmp := archive + ".tmp"
	if err := nodeimage.WriteArchive(tmp, specs...); err != nil {
		return "", fmt.Errorf("building the real node's images: %w", err)
	}
	if err := os.Rename(tmp, archive); err != nil {
		return "", fmt.Errorf("caching the real node's images: %w", err)
	}
	for _, f := range old {
		_ = os.Remove(f)
	}
	return archive, nil
}

// fetchPostgres runs hack/fetch-postgres.sh into the binary cache, where
// it does nothing once the pinned packages are there, and returns the
// directory.
func fetchPostgres(ctx context.Context, repoRoot string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "postgres")
	if out, err := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", "fetch-postgres.sh"), dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("fetching PostgreSQL's packages: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return dir, nil
}

// demoAppFiles are the files under dir, placed at the same paths in the
// demo App's image (examples/image/usr/local/bin/bundle becomes
// /usr/local/bin/bundle).
func demoAppFiles(dir string) ([]ociimage.File, error) {
	var files []ociimage.File
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, ociimage.File{Path: "/" + filepath.ToSlash(rel), Source: path, Mode: int64(info.Mode().Perm())})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the demo app's image files in %s: %w", dir, err)
	}
	return files, nil
}
