package nodeimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/taskgate/taskgate/ociimage"
	"github.com/taskgate/taskgate/ociimage/ociimagetest"
)

// postgresDir runs hack/fetch-postgres.sh into the cache the local cluster
// keeps its binaries in, so a second run downloads nothing, and returns
// the directory.
func postgresDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("fetching PostgreSQL needs apt-get (Debian 12)")
	}
	cache := os.Getenv("TASKGATE_CACHE")
	if cache == "" {
		user, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(user, "taskgate", "clusterbin")
	}
	dir := filepath.Join(cache, "postgres")
	out, err := exec.Command("../../hack/fetch-postgres.sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("hack/fetch-postgres.sh %s: %v\n%s", dir, err, out)
	}
	return dir
}

func filesByPath(files []ociimage.File) map[string]ociimage.File {
	m := make(map[string]ociimage.File, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

func TestPostgresSpec(t *testing.T) {
	dir := postgresDir(t)
	spec, err := Postgres("example.invalid/postgres:15", dir)
	if err != nil {
		t.Fatal(err)
	}
	if spec.User != "999" {
		t.Errorf("user %q, want 999", spec.User)
	}
	if diff := cmp.Diff([]string{PostgresEntrypoint}, spec.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	wantEnv := []string{"PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin", "TZ=UTC0"}
	if diff := cmp.Diff(wantEnv, spec.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	files := filesByPath(spec.Files)
	triplet := libpqTriplet(t, dir)
	for p, source := range map[string]string{
		"/usr/lib/postgresql/15/bin/postgres":                filepath.Join(dir, "root/usr/lib/postgresql/15/bin/postgres"),
		"/usr/lib/postgresql/15/bin/initdb":                  filepath.Join(dir, "root/usr/lib/postgresql/15/bin/initdb"),
		"/usr/lib/postgresql/15/bin/pg_isready":              filepath.Join(dir, "root/usr/lib/postgresql/15/bin/pg_isready"),
		"/usr/lib/postgresql/15/lib/plpgsql.so":              filepath.Join(dir, "root/usr/lib/postgresql/15/lib/plpgsql.so"),
		"/usr/lib/postgresql/15/lib/utf8_and_win.so":         filepath.Join(dir, "root/usr/lib/postgresql/15/lib/utf8_and_win.so"),
		"/usr/share/postgresql/15/postgres.bki":              filepath.Join(dir, "root/usr/share/postgresql/15/postgres.bki"),
		"/usr/share/postgresql/15/extension/plpgsql.control": filepath.Join(dir, "root/usr/share/postgresql/15/extension/plpgsql.control"),
		"/usr/lib/" + triplet + "/libpq.so.5":                filepath.Join(dir, "root/usr/lib", triplet, "libpq.so.5"),
		"/bin/busybox":                                       BusyboxSource,
	} {
		if got := files[p].Source; got != source {
			t.Errorf("%s from %q, want %q", p, got, source)
		}
	}
	_, interp, _, err := readELF(files["/usr/lib/postgresql/15/bin/postgres"].Source)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{interp, "/usr/lib/" + triplet + "/libc.so.6", "/usr/lib/" + triplet + "/libicuuc.so.72", PostgresEntrypoint} {
		if _, ok := files[p]; !ok {
			t.Errorf("the image lacks %s", p)
		}
	}
	for _, p := range []string{
		"/usr/lib/postgresql/15/lib/llvmjit.so",
		"/usr/lib/postgresql/15/lib/pgcrypto.so",
		"/usr/share/postgresql/15/extension/pgcrypto.control",
		"/usr/share/postgresql/15/man/man1/psql.1.gz",
		"/usr/lib/postgresql/15/bin/psql",
	} {
		if _, ok := files[p]; ok {
			t.Errorf("the image holds %s", p)
		}
	}
	if !strings.Contains(string(files["/etc/passwd"].Content), "\npostgres:x:999:999:") ||
		!strings.Contains(string(files["/etc/group"].Content), "\npostgres:x:999:") {
		t.Errorf("/etc/passwd or /etc/group lacks postgres 999:\n%s%s", files["/etc/passwd"].Content, files["/etc/group"].Content)
	}
	if got := spec.Symlinks["/bin/sh"]; got != "/bin/busybox" {
		t.Errorf("/bin/sh links to %q, want /bin/busybox", got)
	}
	if got, want := spec.Owners["/var/lib/postgresql/data"], (ociimage.Owner{UID: 999, GID: 999}); got != want {
		t.Errorf("/var/lib/postgresql/data owned by %v, want %v", got, want)
	}

	t.Logf("%d files, compressed layer %.1f MiB", len(spec.Files), layerMiB(t, ociimagetest.MustBuild(t, spec)))
}

func layerMiB(t *testing.T, img v1.Image) float64 {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	size, err := layers[0].Size()
	if err != nil {
		t.Fatal(err)
	}
	return float64(size) / (1 << 20)
}

func TestPostgresPsqlFiles(t *testing.T) {
	dir := postgresDir(t)
	psql, err := PsqlFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	triplet := libpqTriplet(t, dir)
	files := filesByPath(psql)
	if len(files) != len(psql) {
		t.Errorf("%d files but %d paths", len(psql), len(files))
	}
	_, interp, _, err := readELF(files["/usr/bin/psql"].Source)
	if err != nil {
		t.Fatal(err)
	}
	for p, source := range map[string]string{
		"/usr/bin/psql":                       filepath.Join(dir, "root/usr/lib/postgresql/15/bin/psql"),
		"/usr/lib/" + triplet + "/libpq.so.5": filepath.Join(dir, "root/usr/lib", triplet, "libpq.so.5"),
		interp:                                interp,
	} {
		if got := files[p].Source; got != source {
			t.Errorf("%s from %q, want %q", p, got, source)
		}
	}
	if _, ok := files["/usr/lib/"+triplet+"/libreadline.so.8"]; !ok {
		t.Error("psql's files lack libreadline.so.8")
	}
	// Busybox's files and psql's must not collide in one layer.
	img := ociimagetest.MustBuild(t, Busybox("example.invalid/psql:15", "app", psql...))
	t.Logf("%d files, busybox image with psql: compressed layer %.1f MiB", len(psql), layerMiB(t, img))
}

// TestPostgresLibrariesMatchLdd checks the closure against what ldd prints
// with LD_LIBRARY_PATH set to the fetched trees, as the loader would
// resolve them on a machine that has every library.
func TestPostgresLibrariesMatchLdd(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd")
	}
	dir := postgresDir(t)
	tree, err := openPostgresTree(dir, hostLibraryDirs)
	if err != nil {
		t.Fatal(err)
	}
	triplet := tree.triplet
	ldLibraryPath := strings.Join([]string{
		filepath.Join(dir, "root/usr/lib", triplet),
		filepath.Join(dir, "deps/lib", triplet),
		filepath.Join(dir, "deps/usr/lib", triplet),
	}, ":")
	for _, bin := range []string{"postgres", "initdb", "psql"} {
		t.Run(bin, func(t *testing.T) {
			source := tree.source("/usr/lib/postgresql/15/bin/" + bin)
			libs, err := tree.libraries([]ociimage.File{{Source: source}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range libs {
				got = append(got, filepath.Base(f.Path))
			}
			sort.Strings(got)

			cmd := exec.Command("ldd", source)
			cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+ldLibraryPath)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("ldd %s: %v", source, err)
			}
			var want []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				fields := strings.Fields(line)
				switch {
				case strings.HasPrefix(fields[0], "linux-vdso"):
				case len(fields) >= 3 && fields[1] == "=>":
					want = append(want, fields[0])
					if fields[0] == "libpq.so.5" && !strings.HasPrefix(fields[2], filepath.Join(dir, "root")) {
						t.Errorf("ldd finds libpq at %s, outside the fetched packages", fields[2])
					}
				default:
					want = append(want, filepath.Base(fields[0])) // the loader
				}
			}
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("libraries of %s (-ldd +closure):\n%s", bin, diff)
			}
		})
	}
}

func TestPostgresErrors(t *testing.T) {
	dir := t.TempDir()
	stale := t.TempDir()
	complete := "postgresql-15=15.18-0+deb12u1\npostgresql-client-15=15.18-0+deb12u1\nlibpq5=15.18-0+deb12u1\n"
	if err := os.WriteFile(filepath.Join(stale, ".complete"), []byte(complete), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{{
		name: "not fetched",
		dir:  dir,
		want: "reading what " + dir + " holds (run hack/fetch-postgres.sh " + dir + "): open " + filepath.Join(dir, ".complete") + ": no such file or directory",
	}, {
		name: "another version",
		dir:  stale,
		want: stale + " does not hold postgresql-15=" + PostgresVersion + ": run hack/fetch-postgres.sh " + stale,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Postgres("example.invalid/postgres:15", tt.dir); err == nil || err.Error() != tt.want {
				t.Errorf("Postgres: error %v, want %q", err, tt.want)
			}
			if _, err := PsqlFiles(tt.dir); err == nil || err.Error() != tt.want {
				t.Errorf("PsqlFiles: error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPostgresWithoutHostLibraries builds the server image as a machine
// without the libraries hack/fetch-postgres.sh puts in deps would, and runs
// its postgres in a chroot if it can.
func TestPostgresWithoutHostLibraries(t *testing.T) {
	dir := postgresDir(t)
	triplet := libpqTriplet(t, dir)
	deps := map[string]bool{}
	for _, d := range []string{"deps/lib", "deps/usr/lib"} {
		entries, err := os.ReadDir(filepath.Join(dir, d, triplet))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			deps[e.Name()] = true
		}
	}
	// A host library directory with links to every library of this
	// machine's except those.
	host := t.TempDir()
	entries, err := os.ReadDir("/usr/lib/" + triplet)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !deps[e.Name()] {
			if err := os.Symlink(filepath.Join("/usr/lib", triplet, e.Name()), filepath.Join(host, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	spec, err := postgres("example.invalid/postgres:15", dir, func(string) []string { return []string{host} })
	if err != nil {
		t.Fatal(err)
	}
	files := filesByPath(spec.Files)
	for _, soname := range []string{"libicuuc.so.72", "libssl.so.3", "libxml2.so.2", "libldap-2.5.so.0"} {
		p := "/usr/lib/" + triplet + "/" + soname
		if want := filepath.Join(dir, "deps/usr/lib", triplet, soname); files[p].Source != want {
			t.Errorf("%s from %q, want %q", p, files[p].Source, want)
		}
	}
	if os.Geteuid() != 0 {
		return
	}
	root := extractImage(t, ociimagetest.MustBuild(t, spec))
	out, err := inRoot(root, 0, nil, "/usr/lib/postgresql/15/bin/postgres", "--version").CombinedOutput()
	if got, want := string(out), "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"; err != nil || got != want {
		t.Errorf("postgres --version: %v, %q, want %q", err, got, want)
	}
}

// TestPostgresServes runs the images' binaries in chroots, as root: the
// versions, then the entrypoint as 999 serving on a loopback port, and psql
// from a busybox image with PsqlFiles creating, filling and reading a
// table, then failing with a wrong password.
func TestPostgresServes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	dir := postgresDir(t)
	start := time.Now()
	server, err := Postgres("example.invalid/postgres:15", dir)
	if err != nil {
		t.Fatal(err)
	}
	psql, err := PsqlFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	serverImg := ociimagetest.MustBuild(t, server)
	serverRoot := extractImage(t, serverImg)
	clientRoot := extractImage(t, ociimagetest.MustBuild(t, Busybox("example.invalid/psql:15", "app", psql...)))
	t.Logf("built and extracted both images in %v", time.Since(start).Round(time.Millisecond))

	// Straight to the binaries, with no shell in between.
	for _, c := range []struct {
		root string
		args []string
		want string
	}{
		{serverRoot, []string{"/usr/lib/postgresql/15/bin/postgres", "--version"}, "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"},
		{serverRoot, []string{"/usr/lib/postgresql/15/bin/initdb", "--version"}, "initdb (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"},
		{clientRoot, []string{"/usr/bin/psql", "--version"}, "psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"},
	} {
		out, err := inRoot(c.root, 0, nil, c.args...).CombinedOutput()
		if err != nil || string(out) != c.want {
			t.Errorf("%s: %v, output %q, want %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}

	cfg, err := serverImg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := cfg.Config.Env

	t.Run("no password", func(t *testing.T) {
		out, err := inRoot(serverRoot, PostgresUID, env, PostgresEntrypoint).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("entrypoint without POSTGRES_PASSWORD: %v, want exit status 1", err)
		}
		if want := "postgres-entrypoint: POSTGRES_PASSWORD is not set; set it to the password of the user postgres\n"; string(out) != want {
			t.Errorf("output %q, want %q", out, want)
		}
	})

	port := freePort(t)
	serverEnv := slices.Concat(env, []string{"POSTGRES_PASSWORD=s3cret", "PGDATA=/tmp/pgdata", fmt.Sprintf("PGPORT=%d", port)})
	// Loopback only, whatever the image's listen_addresses.
	startPostgres(t, serverRoot, serverEnv, "-c", "listen_addresses=127.0.0.1")
	ready := time.Now()
	for {
		err := inRoot(serverRoot, PostgresUID, env, "/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1", "-p", fmt.Sprint(port)).Run()
		if err == nil {
			break
		}
		if time.Since(ready) > time.Minute {
			t.Fatalf("postgres not ready after a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("initdb and start took %v", time.Since(ready).Round(time.Millisecond))

	psqlArgs := []string{"/usr/bin/psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres", "-A", "-t"}
	clientEnv := []string{ociimage.DefaultPath, "HOME=/home/app"}
	tests := []struct {
		name     string
		password string
		sql      []string
		want     string
		exit     int
		stderr   string
	}{{
		name:     "create, insert and select",
		password: "s3cret",
		sql:      []string{"CREATE TABLE t(x int)", "INSERT INTO t VALUES (1), (2), (40)", "SELECT sum(x), current_setting('TimeZone'), current_user FROM t"},
		want:     "CREATE TABLE\nINSERT 0 3\n43|UTC0|postgres\n",
	}, {
		name:     "wrong password",
		password: "wrong",
		sql:      []string{"SELECT 1"},
		exit:     2,
		stderr:   `FATAL:  password authentication failed for user "postgres"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := psqlArgs
			for _, s := range tt.sql {
				args = append(args[:len(args):len(args)], "-c", s)
			}
			cmd := inRoot(clientRoot, 1001, append(clientEnv[:len(clientEnv):len(clientEnv)], "PGPASSWORD="+tt.password), args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			exit := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				exit = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tt.exit || stdout.String() != tt.want || !strings.Contains(stderr.String(), tt.stderr) ||
				(tt.stderr == "" && stderr.Len() > 0) {
				t.Errorf("psql: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
					exit, stdout.String(), stderr.String(), tt.exit, tt.want, tt.stderr)
			}
		})
	}
}

// startPostgres runs the entrypoint in root as PostgresUID in a process
// group of its own, and stops it when the test ends: SIGINT (fast shutdown),
// then SIGKILL to the whole group if it has not exited in 30 s, so no
// postgres outlives the test even if it fails.
func startPostgres(t *testing.T, root string, env []string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), "postgres.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := inRoot(root, PostgresUID, env, append([]string{PostgresEntrypoint}, args...)...)
	cmd.SysProcAttr.Setpgid = true
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("postgres exited: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("postgres did not stop in 30 s on SIGINT")
		}
		// The postmaster waits for its children, so none should be left.
		if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("processes of postgres's group %d outlived it; killing them", pgid)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		if t.Failed() {
			if out, err := os.ReadFile(log.Name()); err == nil {
				t.Logf("postgres log:\n%s", out)
			}
		}
		log.Close()
	})
}

// inRoot is a command that runs args in a chroot at root as uid (group the
// same, no supplementary groups), with env as its whole environment.
func inRoot(root string, uid int, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}},
	}
	return cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func libpqTriplet(t *testing.T, dir string) string {
	t.Helper()
	tree, err := openPostgresTree(dir, hostLibraryDirs)
	if err != nil {
		t.Fatal(err)
	}
	return tree.triplet
}

// extractImage writes img's layer into a new directory, as the runtime
// would: modes and owners kept, and a /dev/null, which the runtime
// provides. Only root can own files as others and make devices.
func extractImage(t *testing.T, img v1.Image) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ociimagetest.LayerEntries(t, img, ociimagetest.Epoch) {
		p := filepath.Join(root, e.Name)
		var err error
		switch e.Type {
		case tar.TypeDir:
			err = os.Mkdir(p, 0o700)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
				_, err = f.WriteString(e.Content)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case tar.TypeSymlink:
			err = os.Symlink(e.Linkname, p)
		default:
			t.Fatalf("%s: unexpected type %c", e.Name, e.Type)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, e.UID, e.GID); err != nil {
			t.Fatal(err)
		}
		if e.Type != tar.TypeSymlink {
			if err := os.Chmod(p, e.FileMode()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(root, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "dev/null"), 0o666); err != nil {
		t.Fatal(err)
	}
	return root
}
