#!/usr/bin/env bash
# Bundles the built agent (agent/dist/main.js) with esbuild into agent/dist/bundle/: edgefleet-agent.js,
# one minified file holding the agent, @edgefleet/shared and every pure-JS dependency, plus the chunks
# it imports lazily (the gRPC listener with @grpc/grpc-js and protobufjs, loaded only when
# inference.grpcPort is not 0). The unit runs it: the idle agent holds less heap for fewer, smaller
# module sources and no per-module wrappers (docs/operations.md, "Agent memory", has the numbers).
#
#   deploy/bundle/single-file.sh        # after pnpm build; prints the entry's path
#
# Left out, resolved at run time from agent/node_modules as from agent/dist/: the native modules
# better-sqlite3 and onnxruntime-node (the inference workers and the hardware probe load
# onnxruntime by path), and systeminformation, which only the hardware probe's child process loads.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
[ -f agent/dist/main.js ] || { echo "single-file: agent/dist/main.js is missing: run pnpm build first" >&2; exit 1; }
esbuild=""
for candidate in node_modules/.bin/esbuild control-plane/node_modules/.bin/esbuild; do [ -x "$candidate" ] && { esbuild=$candidate; break; }; done
[ -n "$esbuild" ] || { echo "single-file: esbuild not found (pnpm install first)" >&2; exit 1; }
rm -rf agent/dist/bundle
# The banner gives the bundled CommonJS dependencies the require() an ES module lacks.
"$esbuild" agent/dist/main.js --bundle --splitting --format=esm --platform=node --target=node20 --minify \
  --external:better-sqlite3 --external:onnxruntime-node --external:systeminformation \
  --outdir=agent/dist/bundle --entry-names=edgefleet-agent --chunk-names=chunk-[hash] \
  --legal-comments=none --log-level=warning \
  --banner:js="import { createRequire as __edgefleetRequire } from 'node:module'; const require = __edgefleetRequire(import.meta.url);"
# The inference worker is started by URL relative to the module that starts it, so it must sit at
# worker/session-worker.js beside the bundle. It imports only Node built-ins (onnxruntime-node through
# createRequire, resolved up the tree to the bundle's node_modules), so it is copied as compiled.
mkdir -p agent/dist/bundle/worker
cp agent/dist/inference/worker/session-worker.js agent/dist/bundle/worker/session-worker.js
echo "$REPO/agent/dist/bundle/edgefleet-agent.js"
