#!/usr/bin/env bash
# Fetches PostgreSQL 15 from Debian 12 (bookworm) for the images
# test/nodeimage builds (Postgres, PsqlFiles), without installing anything:
# `apt-get download` at pinned versions, then `dpkg-deb -x`.
#
#   DIR/root  postgresql-15, postgresql-client-15 and libpq5: the binaries,
#             their share files and the libpq they must load.
#   DIR/deps  shared libraries those binaries need that a minimal Debian 12
#             may lack; nodeimage takes one from here only when the machine
#             has no library of that name in /lib or /usr/lib.
#   DIR/.complete  the pinned packages, written last.
#
# Skips everything if DIR/.complete lists exactly these pins, so the harness
# can call it before every build. Runs as any user; needs only apt-get and
# dpkg-deb, and package lists that know the pins (`apt-get update` as root).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1

postgres=(
	"postgresql-15=15.20-0+deb12u1"
	"postgresql-client-15=15.20-0+deb12u1"
	"libpq5=15.20-0+deb12u1"
)
# What the binaries link (ldd) that is not part of every Debian 12 system:
# libc6, zlib, zstd, lz4, libstdc++, gnutls, systemd and PAM are, since apt
# and login need them.
libraries=(
	"libicu72=72.1-3+deb12u1"
	"libxml2=2.9.14+dfsg-1.3~deb12u6"
	"libssl3=3.0.22-1~deb12u2"
	"libgssapi-krb5-2=1.20.1-2+deb12u5"
	"libkrb5-3=1.20.1-2+deb12u5"
	"libk5crypto3=1.20.1-2+deb12u5"
	"libkrb5support0=1.20.1-2+deb12u5"
	"libkeyutils1=1.6.3-2"
	"libcom-err2=1.47.0-2+b2"
	"libldap-2.5-0=2.5.13+dfsg-5"
	"libsasl2-2=2.1.28+dfsg-10+deb12u1"
	"libreadline8=8.2-1.3"
)

want=$(printf '%s\n' "${postgres[@]}" "${libraries[@]}")
if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$want" ]; then
	exit 0
fi

for tool in apt-get dpkg-deb; do
	if ! command -v "$tool" >/dev/null; then
		echo "fetch-postgres.sh needs $tool: run it on Debian 12 (bookworm), as CI does" >&2
		exit 1
	fi
done

debs=$(mktemp -d)
mkdir -p "$dir"
stage=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$debs" "$stage"' EXIT
# As root, apt-get downloads as the user _apt, which must be able to write
# the directory it downloads into.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$debs"
fi

# fetch TREE PACKAGE=VERSION...: downloads the packages and extracts them
# into the staged TREE.
fetch() {
	local tree=$1 deb
	shift
	if ! (cd "$debs" && apt-get download -q "$@" >/dev/null); then
		echo "fetch-postgres.sh: apt-get download $* failed: run apt-get update as root; if a pinned" \
			"version has left the archive, pin the candidate that apt-cache policy shows" >&2
		exit 1
	fi
	mkdir -p "$stage/$tree"
	for deb in "$debs"/*.deb; do
		dpkg-deb -x "$deb" "$stage/$tree"
		rm "$deb"
	done
}
fetch root "${postgres[@]}"
fetch deps "${libraries[@]}"

rm -rf "$dir/.complete" "$dir/root" "$dir/deps"
mv "$stage/root" "$stage/deps" "$dir/"
printf '%s\n' "$want" >"$dir/.complete"
echo "fetched PostgreSQL ${postgres[0]#*=} into $dir"
