#!/usr/bin/env bash
# Build the platform's image (deploy/Dockerfile) on this machine, with no container registry:
#
#   deploy/image/build-local.sh            # -> localhost/kosi:dev
#
# 1. installs podman, buildah, debootstrap, fuse-overlayfs and uidmap from Debian when missing;
# 2. makes the base image itself: debootstraps a Debian bookworm (minbase) root filesystem,
#    slims it as Docker Hub's debian:*-slim is slimmed (no docs, man pages or locales; the same
#    apt sources and apt settings) and imports it tagged docker.io/library/debian:12.11-slim,
#    so that deploy/Dockerfile builds unchanged. THIS BASE IS NOT BYTE-IDENTICAL TO DOCKER
#    HUB'S debian:12.11-slim: it has today's bookworm packages (not those of the 12.11 point
#    release), other timestamps and a different digest. Only a base pulled from a registry,
#    pinned by digest, is what production builds on. An image with that tag that was not made
#    here (pulled) is used as it is and never replaced;
# 3. finds how containers run on this machine: podman's defaults, or else runc (installed then)
#    with lower rlimits; the options found are written to $KOSI_IMAGE_WORK/podman-run-options;
# 4. builds the image with podman (docker image format, so that HEALTHCHECK is kept) and prints
#    its size.
#
# Idempotent: tools and a locally made base are reused (KOSI_REBUILD_BASE=1 makes the base
# anew), and podman's layer cache makes an unchanged rebuild take seconds.
#
# Environment: KOSI_IMAGE (localhost/kosi:dev), KOSI_IMAGE_WORK (/tmp/kosi-image: the root
# filesystem and logs), DEBIAN_MIRROR (http://deb.debian.org/debian), KOSI_REBUILD_BASE,
# KOSI_BUILD_CA_BUNDLE (see below), PODMAN_OPTS (extra options of podman itself, e.g.
# "--storage-driver vfs" where overlay mounts are not allowed).
#
# A host behind a TLS-inspecting proxy: pip in the build must trust what the host trusts.
# KOSI_BUILD_CA_BUNDLE (default: the host's /etc/ssl/certs/ca-certificates.crt; "none": off)
# is bind-mounted read-only into the build's RUN steps, over /root, with a pip.conf naming it.
# Mounts are no part of any layer: neither file is in the image (the script checks).
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
IMAGE=${KOSI_IMAGE:-localhost/kosi:dev}
BASE_IMAGE=docker.io/library/debian:12.11-slim
BASE_LABEL=org.kosi.base.made-by
WORK=${KOSI_IMAGE_WORK:-/tmp/kosi-image}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${KOSI_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
read -r -a PODMAN <<<"podman ${PODMAN_OPTS:-}"

say() { printf '\n== %s\n' "$*"; }
seconds() { date +%s; }

if [ "$(id -u)" != 0 ]; then
    echo "build-local.sh: run as root (it installs packages, debootstraps and runs rootful podman)" >&2
    exit 1
fi

mkdir -p "$WORK"

# --- 1. tools
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v fuse-overlayfs >/dev/null || missing+=(fuse-overlayfs)
command -v newuidmap >/dev/null || missing+=(uidmap)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"${PODMAN[@]}" --version

# --- 2. the base image
made_here=$("${PODMAN[@]}" image inspect --format "{{index .Labels \"$BASE_LABEL\"}}" "$BASE_IMAGE" 2>/dev/null || true)
if "${PODMAN[@]}" image exists "$BASE_IMAGE" && [ "$made_here" != "debootstrap" ]; then
    say "$BASE_IMAGE exists and was not made here: using it as it is"
elif "${PODMAN[@]}" image exists "$BASE_IMAGE" && [ "${KOSI_REBUILD_BASE:-0}" != 1 ]; then
    say "$BASE_IMAGE: the base made here before (KOSI_REBUILD_BASE=1 makes it anew)"
else
    say "debootstrapping bookworm (minbase) from $MIRROR into $WORK/rootfs"
    start=$(seconds)
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase --arch=amd64 bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
    root=$WORK/rootfs
    # what Docker Hub's debian:bookworm-slim has (debuerreotype): the same apt sources,
    # dpkg leaving out docs, man pages and locales, apt keeping no caches or translations,
    # no services started by package scripts
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/{man,groff,info,lintian,linda}/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log \
        "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    # nothing of this machine: the container runtime provides these files
    : >"$root/etc/resolv.conf"
    : >"$root/etc/machine-id"
    echo localhost >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
    "${PODMAN[@]}" rmi --force "$BASE_IMAGE" >/dev/null 2>&1 || true
    tar --numeric-owner --xattrs -C "$root" -c . | "${PODMAN[@]}" import \
        --change 'CMD ["bash"]' \
        --change "LABEL $BASE_LABEL=debootstrap" \
        --change "LABEL org.opencontainers.image.description=Debian bookworm minbase, debootstrapped locally by deploy/image/build-local.sh: not Docker Hub's debian:12.11-slim" \
        --message "debootstrap --variant=minbase bookworm $MIRROR (deploy/image/build-local.sh)" \
        - "$BASE_IMAGE" >/dev/null
    rm -rf "$root"
    echo "base made in $(( $(seconds) - start )) s"
fi
"${PODMAN[@]}" image ls "$BASE_IMAGE"

# --- 3. how containers run here: podman's defaults where they work; otherwise runc (crun
# refuses a hybrid cgroup v1/v2 host: "cgroups in hybrid mode not supported, drop all
# controllers from cgroupv2") with rlimits no higher than this process may set (without
# CAP_SYS_RESOURCE, podman's defaults fail: "setrlimit `RLIMIT_NOFILE`: Operation not permitted")
run_opts=()
if ! "${PODMAN[@]}" run --rm "$BASE_IMAGE" true 2>"$WORK/probe.log"; then
    sed 's/^/  podman defaults: /' "$WORK/probe.log"
    command -v runc >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc; }
    found=
    for nproc in "$(ulimit -Hu)" 32768 4096; do
        candidate=(--runtime runc --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
        if "${PODMAN[@]}" run --rm "${candidate[@]}" "$BASE_IMAGE" true 2>"$WORK/probe.log"; then
            run_opts=("${candidate[@]}"); found=1; break
        fi
        sed 's/^/  '"${candidate[*]}"': /' "$WORK/probe.log"
    done
    [ -n "$found" ] || { echo "build-local.sh: no way found to run a container here" >&2; exit 1; }
fi
printf '%s\n' "${run_opts[*]}" >"$WORK/podman-run-options"
say "containers run here with: podman run ${run_opts[*]:-(defaults)} (also in $WORK/podman-run-options)"

# --- 4. the image
if revision=$(git -C "$REPO" rev-parse HEAD 2>/dev/null); then
    git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || revision+=-dirty   # uncommitted changes built
else
    revision=unknown
fi
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# the labels also as --label: buildah 1.28 takes a LABEL whose ARGs changed from its layer
# cache, with the old values; --label is applied to the image as committed
build_opts=("${run_opts[@]}" --format docker --layers
            --build-arg "REVISION=$revision" --build-arg "CREATED=$created"
            --label "org.opencontainers.image.revision=$revision" --label "org.opencontainers.image.created=$created")
if [ "$CA_BUNDLE" != none ] && [ -f "$CA_BUNDLE" ]; then
    # over /root, which the base has: a mount on a path the image lacks would leave an empty
    # mount point (file) in the layer (buildah 1.28 does), this leaves nothing
    rm -rf "$WORK/build-home" && mkdir -p "$WORK/build-home/.config/pip"
    cp "$CA_BUNDLE" "$WORK/build-home/ca-certificates.crt"
    printf '[global]\ncert = /root/ca-certificates.crt\n' >"$WORK/build-home/.config/pip/pip.conf"
    build_opts+=(--volume "$WORK/build-home:/root:ro")
fi
say "building the web client (make web), which the image serves"
make web >/dev/null
say "building $IMAGE"
start=$(seconds)
"${PODMAN[@]}" build "${build_opts[@]}" -f deploy/Dockerfile -t "$IMAGE" .
echo "built in $(( $(seconds) - start )) s"

# the build-time mounts left nothing behind
left=$("${PODMAN[@]}" run --rm "${run_opts[@]}" --no-healthcheck --user 0 --entrypoint /bin/sh "$IMAGE" -c \
    'for path in /root/.config /root/ca-certificates.crt /etc/pip.conf; do [ ! -e "$path" ] || echo "$path"; done; echo checked')
if [ "$left" != checked ]; then
    echo "build-local.sh: the build left files in the image: $left" >&2
    exit 1
fi
"${PODMAN[@]}" image ls "$IMAGE"
"${PODMAN[@]}" history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-150
