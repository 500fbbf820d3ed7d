#!/usr/bin/env bash
# Installs or upgrades the edgefleet agent on a device from a bundle built by deploy/bundle/bundle.sh.
#
#   sudo ./install.sh --provision device-7.yaml            # from an unpacked bundle
#   sudo install.sh --bundle edgefleet-agent-0.1.0-linux-arm64.tar.gz --provision device-7.yaml
#   install.sh --root /tmp/stage --bundle ... --provision ...   # staged install, no systemd needed
#   sudo install.sh --provisioning-key efp_... --server https://fleet.example:8080 --fleet-key fleet.pub
#        # zero-touch: the device makes its own key and enrols on first start (docs/operations.md)
#
# Layout it produces (every path below is prefixed by --root when given):
#   /opt/edgefleet-agent/releases/<version>/   the unpacked bundle (app/, bin/, systemd/)
#   /opt/edgefleet-agent/current -> releases/<version>   switched atomically on upgrade
#   /opt/edgefleet-agent/previous -> releases/<older>     kept for a manual rollback (docs/operations.md)
#   /opt/edgefleet-agent/bin/edgefleet-agent -> ../current/bin/edgefleet-agent   (the unit's ExecStart)
#   /etc/edgefleet-agent/config.yaml           0640 root:edgefleet (holds the broker secret)
#   /var/lib/edgefleet-agent/                  0750 edgefleet:edgefleet (state.db, models/, staging/)
#   /etc/systemd/system/edgefleet-agent.service  0644, enabled
#
# Idempotent: running it again with the same bundle and provisioning file changes nothing; with a new
# bundle it upgrades (keeps config and data, restarts the service, keeps the previous release for rollback).
set -euo pipefail

readonly SERVICE=edgefleet-agent.service
readonly SERVICE_USER=edgefleet
readonly PREFIX=/opt/edgefleet-agent
readonly CONF_DIR=/etc/edgefleet-agent
readonly DATA_DIR=/var/lib/edgefleet-agent
readonly UNIT_DIR=/etc/systemd/system

ROOT=""
BUNDLE=""
PROVISION=""
PROVISIONING_KEY=""
SERVER=""
FLEET_KEY=""
ID_TEMPLATE=""
START=1

log() { printf 'install: %s\n' "$*"; }
warn() { printf 'install: warning: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: install.sh [--bundle FILE.tar.gz|DIR] [--provision CONFIG.yaml] [--root DIR] [--no-start]

  --bundle     the agent bundle (tarball or unpacked directory); default: the bundle this script is in
  --provision  agent config for this device (as written by `edgefleet devices add ID --agent-config FILE`);
               validated against the agent's config schema, then installed as /etc/edgefleet-agent/config.yaml
  --provisioning-key KEY --server URL --fleet-key FILE [--device-id-template T]
               zero-touch instead of --provision: write a config that enrols this device on first start
               with the key (from `edgefleet provisioning-keys create`); FILE is the fleet's public key
               (`edgefleet-fleet.pub`); T makes the device id, default {machine-id}
  --root DIR   install under DIR instead of / (staging an image, tests); uses `systemctl --root` to enable
  --no-start   install and enable, but do not (re)start the service
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) [ $# -ge 2 ] || die "--bundle needs a value"; BUNDLE=$2; shift 2 ;;
    --provision) [ $# -ge 2 ] || die "--provision needs a value"; PROVISION=$2; shift 2 ;;
    --provisioning-key) [ $# -ge 2 ] || die "--provisioning-key needs a value"; PROVISIONING_KEY=$2; shift 2 ;;
    --server) [ $# -ge 2 ] || die "--server needs a value"; SERVER=$2; shift 2 ;;
    --fleet-key) [ $# -ge 2 ] || die "--fleet-key needs a value"; FLEET_KEY=$2; shift 2 ;;
    --device-id-template) [ $# -ge 2 ] || die "--device-id-template needs a value"; ID_TEMPLATE=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a value"; ROOT=$2; shift 2 ;;
    --no-start) START=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" != "/" ] || ROOT=""
fi
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
if [ -z "$ROOT" ] && [ $IS_ROOT = 0 ]; then die "run as root (or stage into a directory with --root DIR)"; fi
[ -z "$PROVISION" ] || [ -r "$PROVISION" ] || die "provisioning file $PROVISION is not readable"
if [ -n "$PROVISIONING_KEY$SERVER$FLEET_KEY$ID_TEMPLATE" ]; then
  [ -z "$PROVISION" ] || die "give either --provision FILE or --provisioning-key/--server/--fleet-key, not both"
  [ -n "$PROVISIONING_KEY" ] && [ -n "$SERVER" ] && [ -n "$FLEET_KEY" ] || die "zero-touch needs all of --provisioning-key, --server and --fleet-key"
  case "$SERVER" in http://* | https://*) ;; *) die "--server must be an http:// or https:// URL" ;; esac
  [ -r "$FLEET_KEY" ] && grep -q 'BEGIN PUBLIC KEY' "$FLEET_KEY" || die "--fleet-key $FLEET_KEY is not a readable PEM public key"
fi

# --- locate and unpack the bundle -------------------------------------------------------------
# A tarball is unpacked on disk (/var/tmp), not in a RAM-backed /tmp: the bundle is ~70 MB unpacked,
# and from the same filesystem the release is moved into place instead of copied.
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/edgefleet-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -z "$BUNDLE" ]; then BUNDLE=$(cd "$(dirname "$0")" && pwd); fi
FROM_TARBALL=0
if [ -f "$BUNDLE" ]; then
  FROM_TARBALL=1
  # The tarball holds one top-level directory, edgefleet-agent-<version>/; read its manifest first
  # so that re-running with an installed bundle unpacks nothing.
  tar -xzOf "$BUNDLE" --wildcards --no-wildcards-match-slash '*/bundle.json' >"$WORK/bundle.json" 2>/dev/null || die "$BUNDLE is not an edgefleet agent bundle (no bundle.json)"
  MANIFEST="$WORK/bundle.json"
elif [ -d "$BUNDLE" ]; then
  BUNDLE=$(cd "$BUNDLE" && pwd)
  MANIFEST="$BUNDLE/bundle.json"
  [ -f "$MANIFEST" ] || die "$BUNDLE is not an edgefleet agent bundle (no bundle.json)"
else
  die "bundle $BUNDLE does not exist"
fi
VERSION=$(sed -n 's/^ *"release": *"\([^"]*\)".*/\1/p' "$MANIFEST" | head -n 1)
[ -n "$VERSION" ] || die "bundle.json has no release"
case "$VERSION" in *[!A-Za-z0-9._+-]*) die "bundle release '$VERSION' is not a safe directory name" ;; esac
release_dir="$ROOT$PREFIX/releases/$VERSION"
ALREADY=0
if [ -f "$release_dir/bundle.json" ] && cmp -s "$release_dir/bundle.json" "$MANIFEST"; then
  ALREADY=1
  SRC=$release_dir
elif [ $FROM_TARBALL = 1 ]; then
  tar -xzf "$BUNDLE" -C "$WORK" || die "cannot unpack bundle $BUNDLE"
  SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d | head -n 1)
else
  SRC=$BUNDLE
fi
if ! { [ -n "$SRC" ] && [ -f "$SRC/bundle.json" ] && [ -x "$SRC/bin/edgefleet-agent" ] && [ -f "$SRC/systemd/$SERVICE" ] && [ -f "$SRC/app/check-config.mjs" ]; }; then
  die "$BUNDLE is not an edgefleet agent bundle (bundle.json, bin/edgefleet-agent, app/, systemd/$SERVICE expected)"
fi

# --- zero-touch: the image's config (no device identity; the agent enrols on first start) ---------
if [ -n "$PROVISIONING_KEY" ]; then
  PROVISION="$WORK/config.yaml"
  # YAML double-quoted scalars: escape backslashes and quotes so any key or URL stays one string.
  yq() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
  {
    printf 'provisioning:\n  serverUrl: %s\n  key: %s\n' "$(yq "$SERVER")" "$(yq "$PROVISIONING_KEY")"
    [ -z "$ID_TEMPLATE" ] || printf '  deviceIdTemplate: %s\n' "$(yq "$ID_TEMPLATE")"
    printf 'fleetPublicKey: |\n'
    sed 's/^/  /' "$FLEET_KEY"
  } >"$PROVISION"
  chmod 0600 "$PROVISION"
fi

# --- validate the provisioning file before touching anything ------------------------------------
NODE=$(command -v node || true)
if [ -n "$PROVISION" ]; then
  if [ -n "$NODE" ]; then
    "$NODE" "$SRC/app/check-config.mjs" "$PROVISION" || die "provisioning file $PROVISION is not a valid agent config"
  else
    warn "node not found: cannot validate $PROVISION now; the agent will refuse a bad config at start"
  fi
fi
if [ -z "$ROOT" ]; then
  [ -n "$NODE" ] || die "Node.js >= 20 must be installed (the bundle runs on the system node)"
  major=$("$NODE" -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js >= 20 required, found $("$NODE" --version)"
fi

# --- service user ---------------------------------------------------------------------------------
passwd_file="$ROOT/etc/passwd"
if [ -n "$ROOT" ]; then
  # useradd --prefix edits the staged root's databases without chroot; they must exist first.
  mkdir -p "$ROOT/etc"
  for f in passwd group shadow gshadow; do [ -e "$ROOT/etc/$f" ] || { touch "$ROOT/etc/$f"; chmod 0644 "$ROOT/etc/$f"; }; done
  chmod 0640 "$ROOT/etc/shadow" "$ROOT/etc/gshadow"
fi
if grep -q "^$SERVICE_USER:" "$passwd_file" 2>/dev/null; then
  log "user $SERVICE_USER exists"
elif [ $IS_ROOT = 1 ]; then
  useradd ${ROOT:+--prefix "$ROOT"} --system --user-group --home-dir "$DATA_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "edgefleet agent" "$SERVICE_USER"
  log "created system user $SERVICE_USER"
else
  warn "not root: skipping creation of user $SERVICE_USER"
fi
# GPU device nodes on Jetson (/dev/nvhost-*, /dev/nvmap) and DRM render nodes belong to these groups.
for group in video render; do
  if grep -q "^$group:" "$ROOT/etc/group" 2>/dev/null && [ $IS_ROOT = 1 ] &&
    ! grep -q "^$group:.*[:,]$SERVICE_USER\(,\|$\)" "$ROOT/etc/group"; then
    usermod ${ROOT:+--prefix "$ROOT"} -a -G "$group" "$SERVICE_USER" && log "added $SERVICE_USER to group $group"
  fi
done
SVC_UID=$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$passwd_file" 2>/dev/null || true)
SVC_GID=$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $4 }' "$passwd_file" 2>/dev/null || true)

# Owners are numeric so a staged root's own passwd decides them, not the build host's.
own() { # own UID GID MODE PATH
  chmod "$3" "$4"
  if [ $IS_ROOT = 1 ] && [ -n "$1" ] && [ -n "$2" ]; then chown "$1:$2" "$4"; fi
}

# --- directories ----------------------------------------------------------------------------------
mkdir -p "$ROOT$PREFIX/releases" "$ROOT$PREFIX/bin" "$ROOT$CONF_DIR" "$ROOT$DATA_DIR" "$ROOT$UNIT_DIR"
own 0 0 0755 "$ROOT$PREFIX"
own 0 0 0755 "$ROOT$PREFIX/releases"
own 0 0 0755 "$ROOT$PREFIX/bin"
own 0 "$SVC_GID" 0750 "$ROOT$CONF_DIR"
own "$SVC_UID" "$SVC_GID" 0750 "$ROOT$DATA_DIR"

# --- the release ----------------------------------------------------------------------------------
if [ $ALREADY = 1 ]; then
  log "release $VERSION already installed"
else
  rm -rf "$release_dir.new"
  if [ $FROM_TARBALL = 1 ]; then mv "$SRC" "$release_dir.new"; else cp -a "$SRC" "$release_dir.new"; fi
  [ $IS_ROOT = 0 ] || chown -R 0:0 "$release_dir.new"
  chmod -R go-w "$release_dir.new"
  rm -rf "$release_dir"
  mv "$release_dir.new" "$release_dir"
  log "installed release $VERSION"
fi
previous=$(readlink "$ROOT$PREFIX/current" 2>/dev/null || true)
changed_release=0
if [ "$previous" != "releases/$VERSION" ]; then
  # rename(2) over the old link: there is never a moment without a `current`.
  ln -sfn "releases/$VERSION" "$ROOT$PREFIX/current.new"
  mv -T "$ROOT$PREFIX/current.new" "$ROOT$PREFIX/current"
  if [ -n "$previous" ]; then
    ln -sfn "$previous" "$ROOT$PREFIX/previous.new"
    mv -T "$ROOT$PREFIX/previous.new" "$ROOT$PREFIX/previous"
  fi
  changed_release=1
  log "current -> releases/$VERSION${previous:+ (was $previous)}"
fi
if [ "$(readlink "$ROOT$PREFIX/bin/edgefleet-agent" 2>/dev/null || true)" != ../current/bin/edgefleet-agent ]; then
  ln -sfn ../current/bin/edgefleet-agent "$ROOT$PREFIX/bin/edgefleet-agent.new"
  mv -T "$ROOT$PREFIX/bin/edgefleet-agent.new" "$ROOT$PREFIX/bin/edgefleet-agent"
fi
# Retention: keep the current release and the one it replaced (the manual rollback target).
keep_previous=$(readlink "$ROOT$PREFIX/previous" 2>/dev/null || true)
keep_previous=${keep_previous#releases/}
for old_dir in "$ROOT$PREFIX"/releases/*; do
  [ -d "$old_dir" ] || continue
  old=${old_dir##*/}
  case "$old" in "$VERSION" | "$keep_previous") continue ;; esac
  rm -rf "$old_dir"
  log "removed old release $old"
done

# --- config ---------------------------------------------------------------------------------------
config="$ROOT$CONF_DIR/config.yaml"
changed_config=0
if [ -n "$PROVISION" ]; then
  if [ -f "$config" ] && cmp -s "$PROVISION" "$config"; then
    log "config unchanged"
  else
    cp "$PROVISION" "$config.new"
    own 0 "$SVC_GID" 0640 "$config.new"
    mv -f "$config.new" "$config"
    changed_config=1
    log "wrote $CONF_DIR/config.yaml"
  fi
elif [ ! -f "$config" ]; then
  warn "no $CONF_DIR/config.yaml yet: rerun with --provision FILE before the service can start"
  START=0
fi
[ ! -f "$config" ] || own 0 "$SVC_GID" 0640 "$config"

# --- systemd --------------------------------------------------------------------------------------
unit="$ROOT$UNIT_DIR/$SERVICE"
changed_unit=0
if ! cmp -s "$release_dir/systemd/$SERVICE" "$unit"; then
  cp "$release_dir/systemd/$SERVICE" "$unit.new"
  own 0 0 0644 "$unit.new"
  mv -f "$unit.new" "$unit"
  changed_unit=1
  log "installed $UNIT_DIR/$SERVICE"
fi

if [ -n "$ROOT" ]; then
  if command -v systemctl >/dev/null; then
    systemctl --root="$ROOT" --quiet enable "$SERVICE"
    log "enabled $SERVICE in $ROOT"
  else
    warn "systemctl not found: $SERVICE not enabled in $ROOT"
  fi
elif [ -d /run/systemd/system ]; then
  [ $changed_unit = 0 ] || systemctl daemon-reload
  systemctl --quiet enable "$SERVICE"
  if [ $START = 1 ]; then
    if [ $((changed_release + changed_config + changed_unit)) -gt 0 ] || ! systemctl --quiet is-active "$SERVICE"; then
      # restart drains the running agent (SIGTERM, TimeoutStopSec) and starts the new release.
      systemctl restart "$SERVICE"
      log "restarted $SERVICE"
    fi
  fi
else
  warn "systemd is not running: start the agent with $PREFIX/bin/edgefleet-agent --config $CONF_DIR/config.yaml"
fi
log "done: edgefleet agent $VERSION"
