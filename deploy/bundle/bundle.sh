#!/usr/bin/env bash
# Builds a self-contained, installable bundle of the agent or the control plane for THIS machine's
# platform and architecture (the native modules better-sqlite3 and onnxruntime-node are per-arch:
# build the arm64 bundle on an arm64 machine or in an arm64 container).
#
#   deploy/bundle/bundle.sh agent [--out DIR] [--skip-build]
#   deploy/bundle/bundle.sh control-plane [--out DIR] [--skip-build]
#   pnpm bundle:agent                      # the same as `deploy/bundle/bundle.sh agent`
#
# The tarball holds one directory, edgefleet-agent-<release>/ (or edgefleet-<release>/):
#   README.md              what it is and where the docs are (the unit's Documentation=)
#   bundle.json            what was built: package, release, commit, node, platform, arch, built-at
#   app/                   `pnpm deploy --prod` of the package: dist/, bin/, production node_modules/
#   bin/<executable>       wrapper the systemd unit runs; execs the system node on app/bin/*.js (the
#                          agent: on app/dist/bundle/edgefleet-agent.js, its single-file esbuild bundle)
#   systemd/<unit>         the unit file from deploy/systemd/
#   install.sh             (agent only) deploy/agent/install.sh
# It prints the tarball's path as its last line.
set -euo pipefail

die() { printf 'bundle: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'bundle: %s\n' "$*" >&2; }

REPO=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${1:-}
shift || true
OUT="$REPO/deploy/dist"
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    *) die "unknown argument: $1" ;;
  esac
done

case "$TARGET" in
  agent) PKG=@edgefleet/agent; DIR=agent; EXE=edgefleet-agent; UNIT=edgefleet-agent.service; NAME=edgefleet-agent ;;
  control-plane) PKG=@edgefleet/control-plane; DIR=control-plane; EXE=edgefleet; UNIT=edgefleet.service; NAME=edgefleet ;;
  *) die "usage: bundle.sh agent|control-plane [--out DIR] [--skip-build]" ;;
esac

cd "$REPO"
[ -f "deploy/systemd/$UNIT" ] || die "deploy/systemd/$UNIT is missing"
if [ $BUILD = 1 ]; then
  log "building (pnpm build)"
  pnpm build >&2
fi
[ -f "$DIR/dist/main.js" ] || die "$DIR/dist/main.js is missing: run pnpm build first"
if [ "$TARGET" = agent ]; then
  # The agent runs as one esbuild bundle (less idle memory; docs/operations.md, "Agent memory").
  log "bundling the agent into one file (deploy/bundle/single-file.sh)"
  deploy/bundle/single-file.sh >/dev/null
fi

version=$(node -p "require('./$DIR/package.json').version")
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
platform=$(node -p 'process.platform')
arch=$(node -p 'process.arch')
release="$version+$commit"
base="$NAME-$version-$platform-$arch"

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
root="$STAGE/$NAME-$version"
mkdir -p "$root/bin" "$root/systemd"

log "pnpm deploy --prod $PKG"
# better-sqlite3 compiles against the running Node's headers where no prebuilt download is reachable (.pnpmfile.cjs).
pnpm --filter "$PKG" deploy --prod "$root/app" >&2

# Only this platform's native code is useful; onnxruntime-node alone ships ~250 MB for every OS.
for ort in "$root"/app/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*; do
  [ -d "$ort" ] || continue
  find "$ort" -mindepth 1 -maxdepth 1 -type d ! -name "$platform" -exec rm -rf {} +
  find "$ort/$platform" -mindepth 1 -maxdepth 1 -type d ! -name "$arch" -exec rm -rf {} + 2>/dev/null || true
done
for sqlite in "$root"/app/node_modules/.pnpm/better-sqlite3@*/node_modules/better-sqlite3; do
  [ -d "$sqlite" ] || continue
  rm -rf "$sqlite/deps" "$sqlite/src" "$sqlite/build/Release/obj.target" "$sqlite/build/Release/obj" "$sqlite/build/Release/test_extension.node"
done
# Type declarations, source maps and docs are never read at run time (~20 % of the files).
find "$root/app/node_modules/.pnpm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' -o -name '*.markdown' \) -delete
# Sources and build configs are not run on a device.
rm -rf "$root/app/src" "$root/app/tsconfig.json" "$root/app/dist/.tsbuildinfo"
find "$root/app/node_modules/.pnpm" -path '*/@edgefleet/*/src' -type d -prune -exec rm -rf {} + 2>/dev/null || true

if [ "$TARGET" = agent ]; then
  # The inference worker is its own compiled entry, started by file path (new Worker(new URL(...))).
  [ -f "$root/app/dist/inference/worker/session-worker.js" ] || die "agent/dist/inference/worker/session-worker.js is missing: run pnpm build first"
  # pnpm deploy copies what the package publishes; the bundle is a build output beside dist/main.js.
  rm -rf "$root/app/dist/bundle" && cp -r agent/dist/bundle "$root/app/dist/bundle"
  [ -f "$root/app/dist/bundle/worker/session-worker.js" ] || die "agent/dist/bundle/worker/session-worker.js is missing: run deploy/bundle/single-file.sh"
  ENTRY="app/dist/bundle/edgefleet-agent.js"
else
  ENTRY="app/bin/$EXE.js"
fi

for dep in "$root"/app/node_modules/.pnpm/@edgefleet+*/node_modules/@edgefleet/*; do
  [ -f "$dep/dist/index.js" ] || die "$dep has no dist/index.js: run pnpm build first"
done

# Validates an agent config with the agent's own schema (install.sh runs it before installing a config).
cat >"$root/app/check-config.mjs" <<'EOF'
import { agentBootstrapConfigSchema, agentConfigSchema, loadConfig } from '@edgefleet/shared';

const file = process.argv[2];
if (!file) {
  console.error('usage: node check-config.mjs CONFIG.yaml');
  process.exit(2);
}
try {
  // An image's config enrols on first start: no device id or broker yet, a provisioning key instead.
  const boot = loadConfig({ schema: agentBootstrapConfigSchema, file, env: {} });
  if (boot.provisioning) {
    console.log(`config ok: enrols at ${boot.provisioning.serverUrl} on first start (device id ${boot.deviceId ?? `from ${boot.provisioning.deviceIdTemplate}`})`);
  } else {
    const config = loadConfig({ schema: agentConfigSchema, file, env: {} });
    console.log(`config ok: device ${config.deviceId}, broker ${config.broker.url}`);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
EOF

# The wrapper resolves its own location (it is reached through /opt/.../bin -> current -> releases/X),
# so a release directory works wherever it is unpacked.
cat >"$root/bin/$EXE" <<EOF
#!/bin/sh
here=\$(dirname "\$(readlink -f "\$0")")
exec "\${EDGEFLEET_NODE:-node}" "\$here/../$ENTRY" "\$@"
EOF
chmod 0755 "$root/bin/$EXE"
cp "deploy/systemd/$UNIT" "$root/systemd/$UNIT"
# Several replicas on one host (docs/operations.md, "Several control-plane replicas"): the template unit and its env files.
if [ "$TARGET" = control-plane ]; then
  cp deploy/control-plane/edgefleet-control-plane@.service deploy/control-plane/*.env "$root/systemd/"
fi
# The unit's Documentation= points here (…/current/README.md).
cat >"$root/README.md" <<EOF
# $NAME $version

Built from commit $commit for $platform/$arch. Installed layout, upgrades, backup and monitoring:
docs/operations.md in the edgefleet repository; configuration keys: docs/configuration.md;
GPU on Jetson: docs/jetson.md.

- bin/$EXE        launcher (runs $ENTRY on the system Node.js >= 20)
- app/            the built program and its production node_modules
- systemd/$UNIT   the systemd unit
EOF
if [ "$TARGET" = agent ]; then
  cp deploy/agent/install.sh "$root/install.sh"
  chmod 0755 "$root/install.sh"
fi

cat >"$root/bundle.json" <<EOF
{
  "package": "$PKG",
  "version": "$version",
  "release": "$release",
  "commit": "$commit",
  "node": "$(node --version)",
  "platform": "$platform",
  "arch": "$arch",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF

mkdir -p "$OUT"
tarball="$(cd "$OUT" && pwd)/$base.tar.gz"
# gzip -1: the native libraries barely compress further, and -6 triples the time on a small device.
tar -cf - -C "$STAGE" "$NAME-$version" | gzip -1 >"$tarball.tmp"
mv -f "$tarball.tmp" "$tarball"
log "$(du -h "$tarball" | cut -f1) $tarball"
echo "$tarball"
