#!/usr/bin/env bash
# Installs the Debian packages the local cluster runs, at pinned versions:
# containerd and runc run the real node's containers, the CNI plugins put
# each pod on the node's bridge, busybox-static is the shell of the images
# the harness builds, iproute2 sets up the cluster's network namespace and
# nftables is what kube-proxy programs Services with. Skips what is already installed at
# that version. Needs root and Debian 12 (bookworm), as on CI.
set -euo pipefail

packages=(
	"containerd=1.6.20~ds1-1+deb12u3"
	"containernetworking-plugins=1.1.1+ds1-3+b5"
	"runc=1.1.5+ds1-1+deb12u1"
	"busybox-static=1:1.35.0-4+deb12u1+b1"
	"iproute2=6.1.0-3"
	"nftables=1.0.6-2+deb12u2"
)

missing=()
for p in "${packages[@]}"; do
	name=${p%%=*} want=${p#*=}
	have=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || true)
	[ "$have" = "$want" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "the real node needs these Debian packages; install them as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The machine's own containerd must not start: the harness runs its own, in
# a private mount namespace. 101 tells invoke-rc.d that no service may start.
policy=/usr/sbin/policy-rc.d
[ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; trap 'rm -f "$policy"' EXIT; }
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
