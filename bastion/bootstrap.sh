#!/bin/bash
# The bastion's first boot (Scalar DL on AWS, Step 1: the tools the later steps run): Node.js, kubectl,
# helm and eksctl at the versions of bastion/tools.json, each checked against its SHA-256 before it
# is installed, and git and the AWS CLI v2 from Amazon Linux's packages when missing. 01-vpc renders
# it (the tool lines at the end) as the instance's user data, and sends it again through SSM Run
# Command when the wanted versions change. Safe to run twice: what is installed at the wanted
# version is left alone. No secret is ever in it. Logs to $BOOTSTRAP_LOG.
#
# Its own record of how it went, in $STATE (what 01-vpc and `npm run bastion -- push` read
# through SSM Run Command, lib/bastion/bootstrap-state.ts): bootstrap-running (its version and
# process id) while it runs, bootstrap-failed (its version and exit code) when it stopped short,
# bootstrap-version (its version) once everything is installed.
set -euo pipefail

PREFIX="${BOOTSTRAP_PREFIX:-/usr/local}"
LOG="${BOOTSTRAP_LOG:-/var/log/scalardl-runbook-bootstrap.log}"
STATE="$PREFIX/lib/scalardl-runbook"
mkdir -p "$PREFIX/bin" "$STATE" "$(dirname "$LOG")"
exec >>"$LOG" 2>&1
echo "== bootstrap $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# 01-vpc renders the version (a hash of what it installs) right after the first line.
VERSION="${BOOTSTRAP_VERSION:-unknown}"
echo "$VERSION $$" >"$STATE/bootstrap-running"
rm -f "$STATE/bootstrap-failed"
WORK="$(mktemp -d)"
# On any exit: a bootstrap that stopped short says so (cloud-init runs user data once per instance,
# so nothing else would), and the running marker goes.
finish() {
  local rc=$?
  rm -rf "$WORK"
  if [ "$rc" -ne 0 ]; then
    echo "$VERSION $rc" >"$STATE/bootstrap-failed"
    echo "== bootstrap $VERSION failed (exit $rc)"
  fi
  rm -f "$STATE/bootstrap-running"
}
trap finish EXIT

# What the downloads need, from Amazon Linux's packages when missing (a minimal image may lack
# tar or xz; Node.js comes as .tar.xz).
for need in curl:curl sha256sum:coreutils tar:tar xz:xz; do
  if ! command -v "${need%%:*}" >/dev/null 2>&1; then
    echo "${need%%:*}: missing, installing ${need#*:}"
    dnf install -y "${need#*:}"
  fi
done

# fetch URL SHA256 FILE: downloads URL to FILE and stops the bootstrap unless its SHA-256 is SHA256.
fetch() {
  local url="$1" want="$2" file="$3" got
  curl -fsSL --retry 3 --retry-delay 2 -o "$file" "$url"
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    echo "checksum mismatch for $url: expected $want, got $got; nothing of it was installed"
    exit 1
  fi
}

# install_tool NAME VERSION KIND URL SHA256 [MEMBER]: KIND is bin (the file is the program),
# tar.gz (MEMBER is the program's path in the archive) or node (MEMBER is the archive's top folder).
install_tool() {
  local name="$1" version="$2" kind="$3" url="$4" sha="$5" member="${6:-}"
  local marker="$STATE/$name-$version.sha256"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$sha" ] && [ -x "$PREFIX/bin/$name" ]; then
    echo "$name $version: already installed"
    return 0
  fi
  local file="$WORK/$name.download"
  fetch "$url" "$sha" "$file"
  case "$kind" in
    bin) install -m 0755 "$file" "$PREFIX/bin/$name" ;;
    tar.gz)
      mkdir -p "$WORK/$name"
      tar --no-same-owner -xzf "$file" -C "$WORK/$name" "$member"
      install -m 0755 "$WORK/$name/$member" "$PREFIX/bin/$name"
      ;;
    node)
      rm -rf "${PREFIX:?}/lib/$member"
      # As root, tar would keep the archive's owners (a build user's uid): the files are root's.
      tar --no-same-owner -xJf "$file" -C "$PREFIX/lib"
      for program in node npm npx; do ln -sfn "$PREFIX/lib/$member/bin/$program" "$PREFIX/bin/$program"; done
      ;;
    *)
      echo "unknown kind $kind for $name"
      exit 1
      ;;
  esac
  rm -f "$STATE/$name"-*.sha256
  echo "$sha" >"$marker"
  echo "$name $version: installed (sha256 $sha)"
}

# ensure_package COMMAND PACKAGE: Amazon Linux's package, only when COMMAND is missing (AL2023 ships the AWS CLI v2).
ensure_package() {
  local command="$1" package="$2"
  if command -v "$command" >/dev/null 2>&1; then
    echo "$command: present ($(command -v "$command"))"
    return 0
  fi
  dnf install -y "$package"
  echo "$command: installed from $package"
}

# done_version VERSION: the marker 01-vpc reads (the bootstrap is known to have worked), written last.
done_version() {
  echo "$1" >"$STATE/bootstrap-version"
  rm -f "$STATE/bootstrap-failed"
  echo "== bootstrap $1 complete"
}

# The rendered part: one line per tool, then the version.
