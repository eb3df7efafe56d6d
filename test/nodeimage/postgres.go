package nodeimage

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/taskgate/taskgate/ociimage"
)

// PostgresVersion is the Debian version of PostgreSQL 15 that
// hack/fetch-postgres.sh pins, so a test can assert what it runs. Postgres
// and PsqlFiles refuse a directory fetched for another version.
const PostgresVersion = "15.20-0+deb12u1"

// PostgresUID is the user and group the Postgres image runs as, as in
// Debian's and the official images: a pod's fsGroup gives it an emptyDir.
const PostgresUID = 999

// PostgresEntrypoint is the Postgres image's entrypoint: a script that
// initialises $PGDATA on first start and then execs postgres with the
// container's args, e.g. "-c", "max_connections=20".
const PostgresEntrypoint = "/usr/local/bin/postgres-entrypoint"

const (
	postgresBin   = "/usr/lib/postgresql/15/bin"
	postgresLib   = "/usr/lib/postgresql/15/lib"
	postgresShare = "/usr/share/postgresql/15"
)

// postgresModules are the server's loadable modules that PostgreSQL itself
// uses: initdb loads plpgsql and dict_snowball, replication loads the
// other two, and conversions between encodings load *_and_*.so. The
// contrib extensions are left out, and with them llvmjit, which alone
// would pull in 100 MiB of LLVM (the entrypoint turns jit off).
var postgresModules = []string{"plpgsql.so", "dict_snowball.so", "libpqwalreceiver.so", "pgoutput.so", "*_and_*.so"}

// postgresEntrypointScript is PostgresEntrypoint. initdb cannot chmod the
// root of an emptyDir, hence the default PGDATA one level down. PGPORT
// needs no handling here: postgres reads it itself, and the configuration
// written here does not set port, which would override it.
const postgresEntrypointScript = `#!/bin/sh
# Initialises $PGDATA on first start, then execs postgres with this
# script's arguments. POSTGRES_PASSWORD is the password of the user
# postgres, which any IPv4 client may use (scram-sha-256); local socket
# connections in /tmp are trusted.
set -eu
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
	echo "postgres-entrypoint: POSTGRES_PASSWORD is not set; set it to the password of the user postgres" >&2
	exit 1
fi
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
export PGDATA
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pwfile=/tmp/postgres-entrypoint.pw.$$
	trap 'rm -f "$pwfile"' EXIT
	(umask 077 && printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile")
	initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --locale=C -E UTF8 \
		--auth-host=scram-sha-256 --auth-local=trust --no-instructions
	rm -f "$pwfile"
	printf 'host all all 0.0.0.0/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
	printf '%s\n' '# postgres-entrypoint' "listen_addresses = '*'" "unix_socket_directories = '/tmp'" \
		'jit = off' >>"$PGDATA/postgresql.conf"
fi
exec postgres -D "$PGDATA" "$@"
`

const (
	postgresPasswd = `root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`
	postgresGroup = `root:x:0:
postgres:x:999:
nobody:x:65534:
`
)

// Postgres is a PostgreSQL 15 server image built from dir, a directory
// hack/fetch-postgres.sh filled, since nothing may be pulled and the
// machine's own PostgreSQL, if any, is of whatever version it is.
//
// It holds postgres, initdb and pg_isready (for a readiness probe), the
// modules PostgreSQL itself loads, the share files initdb reads, every
// shared library they need and the dynamic loader, static busybox as
// /bin/sh (initdb runs postgres through it), and a postgres user (999).
// It runs as that user: PostgresEntrypoint reads POSTGRES_PASSWORD
// (required) and PGDATA (default /var/lib/postgresql/data/pgdata, below an
// emptyDir's mount point) and passes its args to postgres; postgres reads
// PGPORT itself. There are no time zone files (only an empty
// /usr/share/zoneinfo), so TZ is UTC0, a zone PostgreSQL parses itself.
// The runtime provides /dev/null, which initdb needs.
func Postgres(ref, dir string) (ociimage.Spec, error) {
	return postgres(ref, dir, hostLibraryDirs)
}

// PsqlFiles are the files that add psql, at /usr/bin/psql, to an image:
// the binary from dir (see Postgres), every shared library it needs and the
// dynamic loader. They share no path with Busybox's files, so
// Busybox(ref, user, files...) is a psql client image. psql reads PGHOST,
// PGPORT, PGUSER and PGPASSWORD.
func PsqlFiles(dir string) ([]ociimage.File, error) {
	return psqlFiles(dir, hostLibraryDirs)
}

// hostLibraryDirs are where the dynamic loader looks for libraries by
// default on Debian, given the multiarch triplet: a library found there is
// taken from this machine.
func hostLibraryDirs(triplet string) []string {
	return []string{"/lib/" + triplet, "/usr/lib/" + triplet, "/lib", "/usr/lib"}
}

func postgres(ref, dir string, host func(string) []string) (ociimage.Spec, error) {
	tree, err := openPostgresTree(dir, host)
	if err != nil {
		return ociimage.Spec{}, err
	}
	files := []ociimage.File{
		{Path: PostgresEntrypoint, Content: []byte(postgresEntrypointScript), Mode: 0o755},
		{Path: "/bin/busybox", Source: BusyboxSource, Mode: 0o755, Hint: "install the Debian package busybox-static"},
		{Path: "/etc/passwd", Content: []byte(postgresPasswd), Mode: 0o644},
		{Path: "/etc/group", Content: []byte(postgresGroup), Mode: 0o644},
	}
	var elfs []ociimage.File
	for _, b := range []string{"postgres", "initdb", "pg_isready"} {
		elfs = append(elfs, ociimage.File{Path: path.Join(postgresBin, b), Source: tree.source(path.Join(postgresBin, b)), Mode: 0o755})
	}
	for _, pattern := range postgresModules {
		matches, err := filepath.Glob(tree.source(path.Join(postgresLib, pattern)))
		if err != nil || len(matches) == 0 {
			return ociimage.Spec{}, fmt.Errorf("building the postgres image from %s: no module %s in %s", dir, pattern, postgresLib)
		}
		for _, m := range matches {
			elfs = append(elfs, ociimage.File{Path: path.Join(postgresLib, filepath.Base(m)), Source: m, Mode: 0o644})
		}
	}
	libs, err := tree.libraries(elfs)
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("building the postgres image from %s: %w", dir, err)
	}
	share, err := tree.share()
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("building the postgres image from %s: %w", dir, err)
	}
	files = append(files, elfs...)
	files = append(files, libs...)
	files = append(files, share...)

	symlinks := make(map[string]string, len(busyboxApplets))
	for _, applet := range busyboxApplets {
		symlinks["/bin/"+applet] = "/bin/busybox"
	}
	return ociimage.Spec{
		Ref:        ref,
		Entrypoint: []string{PostgresEntrypoint},
		Env:        []string{"PATH=" + postgresBin + ":/usr/local/bin:/usr/bin:/bin", "TZ=UTC0"},
		User:       fmt.Sprint(PostgresUID),
		Files:      files,
		Symlinks:   symlinks,
		Dirs: map[string]int64{
			"/tmp": 0o1777,
			// postgres looks here for a file named like TZ before
			// parsing it, and logs if the directory is missing.
			"/usr/share/zoneinfo":      0o755,
			"/var/lib/postgresql":      0o755,
			"/var/lib/postgresql/data": 0o700,
		},
		Owners: map[string]ociimage.Owner{
			"/var/lib/postgresql":      {UID: PostgresUID, GID: PostgresUID},
			"/var/lib/postgresql/data": {UID: PostgresUID, GID: PostgresUID},
		},
	}, nil
}

func psqlFiles(dir string, host func(string) []string) ([]ociimage.File, error) {
	tree, err := openPostgresTree(dir, host)
	if err != nil {
		return nil, err
	}
	psql := ociimage.File{Path: "/usr/bin/psql", Source: tree.source(path.Join(postgresBin, "psql")), Mode: 0o755}
	libs, err := tree.libraries([]ociimage.File{psql})
	if err != nil {
		return nil, fmt.Errorf("adding psql from %s: %w", dir, err)
	}
	return append([]ociimage.File{psql}, libs...), nil
}

// postgresTree is a directory hack/fetch-postgres.sh filled.
type postgresTree struct {
	dir string
	// triplet is Debian's multiarch directory name, e.g.
	// x86_64-linux-gnu, where libpq5 put libpq.
	triplet string
	// searchDirs are where libraries are looked for, in order: the
	// fetched packages (for libpq of PostgresVersion), this machine, then
	// the fetched libraries a machine may lack.
	searchDirs []string
}

func openPostgresTree(dir string, host func(string) []string) (*postgresTree, error) {
	fetch := "hack/fetch-postgres.sh " + dir
	complete, err := os.ReadFile(filepath.Join(dir, ".complete"))
	if err != nil {
		return nil, fmt.Errorf("reading what %s holds (run %s): %w", dir, fetch, err)
	}
	for _, pkg := range []string{"postgresql-15", "postgresql-client-15", "libpq5"} {
		if !hasLine(string(complete), pkg+"="+PostgresVersion) {
			return nil, fmt.Errorf("%s does not hold %s=%s: run %s", dir, pkg, PostgresVersion, fetch)
		}
	}
	libpq, err := filepath.Glob(filepath.Join(dir, "root/usr/lib/*/libpq.so.5"))
	if err != nil || len(libpq) != 1 {
		return nil, fmt.Errorf("%s holds no single usr/lib/*/libpq.so.5: run %s again", filepath.Join(dir, "root"), fetch)
	}
	triplet := filepath.Base(filepath.Dir(libpq[0]))
	dirs := []string{filepath.Join(dir, "root/usr/lib", triplet)}
	dirs = append(dirs, host(triplet)...)
	dirs = append(dirs, filepath.Join(dir, "deps/lib", triplet), filepath.Join(dir, "deps/usr/lib", triplet))
	return &postgresTree{dir: dir, triplet: triplet, searchDirs: dirs}, nil
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// source is where the fetched packages hold imagePath.
func (t *postgresTree) source(imagePath string) string {
	return filepath.Join(t.dir, "root", filepath.FromSlash(imagePath))
}

// share is PostgreSQL's share directory without what nothing here reads:
// man pages, contrib examples and the contrib extensions' scripts, whose
// modules the image does not hold.
func (t *postgresTree) share() ([]ociimage.File, error) {
	root := t.source(postgresShare)
	var files []ociimage.File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && (rel == "man" || rel == "contrib"):
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case path.Dir(rel) == "extension" && !strings.HasPrefix(path.Base(rel), "plpgsql"):
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file", p)
		}
		files = append(files, ociimage.File{Path: path.Join(postgresShare, rel), Source: p, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	return files, nil
}

// libraries are the files that let elfs run: every shared library they
// need, directly or through another, and the dynamic loader they name.
//
// The closure is what ldd would print, found the way the loader finds it
// with LD_LIBRARY_PATH set to the fetched libpq's directory, but with the
// search order explicit rather than this machine's: ldd cannot say where a
// library would come from if this machine lacked it. Each library is
// placed in /usr/lib/<triplet>, which the loader searches by default, and
// the loader at the path the binaries name (PT_INTERP), taken from this
// machine, whose libc it must match.
func (t *postgresTree) libraries(elfs []ociimage.File) ([]ociimage.File, error) {
	found := map[string]string{} // soname → file
	var interp string
	queue := make([]string, 0, len(elfs))
	for _, f := range elfs {
		queue = append(queue, f.Source)
	}
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		needed, in, machine, err := readELF(file)
		if err != nil {
			return nil, err
		}
		if in != "" {
			if interp != "" && in != interp {
				return nil, fmt.Errorf("%s names the loader %s, others %s", file, in, interp)
			}
			interp = in
		}
		for _, soname := range needed {
			if _, ok := found[soname]; ok {
				continue
			}
			lib, err := t.find(soname, machine)
			if err != nil {
				return nil, fmt.Errorf("%s needs %s: %w", file, soname, err)
			}
			found[soname] = lib
			queue = append(queue, lib)
		}
	}
	if interp == "" {
		return nil, errors.New("no binary names a dynamic loader")
	}
	// libc needs the loader by its soname, which the loader, already
	// there, answers to.
	delete(found, path.Base(interp))
	sonames := make([]string, 0, len(found))
	for soname := range found {
		sonames = append(sonames, soname)
	}
	sort.Strings(sonames)
	files := []ociimage.File{{Path: interp, Source: interp, Mode: 0o755, Hint: "install the Debian package libc6"}}
	for _, soname := range sonames {
		files = append(files, ociimage.File{Path: path.Join("/usr/lib", t.triplet, soname), Source: found[soname], Mode: 0o644})
	}
	return files, nil
}

// find is the first file named soname in t.searchDirs built for machine.
func (t *postgresTree) find(soname string, machine elf.Machine) (string, error) {
	if strings.Contains(soname, "/") {
		return "", errors.New("a library named by path is not supported")
	}
	for _, dir := range t.searchDirs {
		p := filepath.Join(dir, soname)
		f, err := elf.Open(p)
		var format *elf.FormatError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &format) {
			// The loader too passes over what is not an ELF file.
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", p, err)
		}
		ok := f.Machine == machine
		f.Close()
		if ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("neither this machine nor %s has it; add its Debian package to hack/fetch-postgres.sh",
		filepath.Join(t.dir, "deps"))
}

// readELF returns what an ELF file needs: its DT_NEEDED libraries, its
// loader (PT_INTERP) if it names one, and its machine.
func readELF(file string) (needed []string, interp string, machine elf.Machine, err error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, "", 0, fmt.Errorf("reading %s: %w", file, err)
	}
	defer f.Close()
	needed, err = f.ImportedLibraries()
	if err != nil {
		return nil, "", 0, fmt.Errorf("reading the libraries %s needs: %w", file, err)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(bufio.NewReader(p.Open()))
		if err != nil {
			return nil, "", 0, fmt.Errorf("reading the loader %s names: %w", file, err)
		}
		interp = strings.TrimRight(string(b), "\x00")
	}
	return needed, interp, f.Machine, nil
}
