#!/usr/bin/env bash
# `make image-test`, part one: build the shipped Dockerfile with buildah on a base image made
# here from Debian's packages (no registry can be reached on our machines), then print the
# image's name for tests/image/run_image.py. Needs root, buildah and mmdebstrap (.ci/run
# installs them). The base tarball is cached under ~/.cache/signaldesk; delete it to pick up
# Debian's security updates. Bounded: 15 min for the base, 20 for the image, should a
# mirror hang.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE="${IMAGE_TEST_IMAGE:-localhost/signaldesk:image-test}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/signaldesk"
mkdir -p "$cache"
say() { echo "image-test: $*" >&2; }

# What the base holds stands in for the official python:3.11-slim image: Debian's Python
# (3.11 on bookworm) with its venv module and the CA certificates.
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:?}")"
packages="python3,python3-venv,ca-certificates"
sources=()
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -s "$f" ] && grep -qv '^\s*\(#\|$\)' "$f" && sources+=("$f")
done
key="$(printf '%s\n' "$codename" "$packages" v1 | cat - "${sources[@]}" | sha256sum | cut -c1-12)"
tarball="$cache/image-base-$codename-$key.tar"
base="localhost/signaldesk-base:$codename-$key"

if [ ! -s "$tarball" ]; then
    say "building the base from Debian's $codename packages (mmdebstrap; once, cached in $tarball)"
    # The machine's own apt sources: its mirror, whatever that is here, and its security suite.
    timeout --kill-after=30 900 mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        "$codename" "$tarball.part" "${sources[@]}"
    mv "$tarball.part" "$tarball"
fi
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
    say "importing the base as $base"
    ctr="$(buildah from scratch)"
    trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    buildah add --quiet "$ctr" "$tarball" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 --cmd python3 "$ctr"
    buildah commit --quiet "$ctr" "$base" >/dev/null
    buildah rm "$ctr" >/dev/null
    trap - EXIT
fi

# pip in the build uses this machine's index (PyPI unless pip is configured otherwise; file://
# indexes are not reachable from the build) and its CA bundle, which trusts the egress proxy
# some machines put in front of PyPI. Both go in as build arguments, not into the Dockerfile.
index="${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}"
case "$index" in file:*) index="" ;; esac
cert="${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}"
[ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt
build_args=(--build-arg "BASE_IMAGE=$base")
[ -n "$index" ] && build_args+=(--build-arg "PIP_INDEX_URL=$index")
[ -s "$cert" ] && build_args+=(--secret "id=pip_cert,src=$cert")

say "building $IMAGE from the Dockerfile (buildah bud, layers cached)"
# --format docker keeps HEALTHCHECK (the OCI format has no such field); chroot isolation and
# the host's network because this machine cannot start a container runtime.
timeout --kill-after=30 1200 buildah bud --quiet --isolation chroot --network host --format docker --layers \
    "${build_args[@]}" --tag "$IMAGE" . >/dev/null
echo "$IMAGE"
