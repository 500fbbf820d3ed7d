/**
 * Synthetic inputs for the PP-OCR models, made here so calibration and checks need no image files:
 * light paper, dark "glyphs" (blocks of random width with 60% ink coverage) in lines, sensor noise,
 * normalised as PP-OCR preprocesses real crops and pages. Deterministic per seed.
 */
function random(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Grey levels in [0, 1] of an H×W picture with text lines `lineHeight` high every `pitch` rows. */
function paper(height: number, width: number, seed: number, lines: { top: number; lineHeight: number; pitch: number }): Float32Array {
  const rnd = random(seed);
  const img = new Float32Array(height * width);
  const bg = 0.8 + 0.15 * rnd();
  for (let i = 0; i < img.length; i++) img[i] = bg + (rnd() - 0.5) * 0.04;
  for (let y = lines.top; y + lines.lineHeight <= height; y += lines.pitch) {
    let x = 4 + Math.floor(rnd() * 20);
    const end = width - 4 - Math.floor(rnd() * width * 0.25);
    while (x < end) {
      const w = 3 + Math.floor(rnd() * lines.lineHeight * 0.8);
      const ink = 0.05 + 0.25 * rnd();
      for (let yy = y; yy < y + lines.lineHeight; yy++) for (let xx = x; xx < Math.min(x + w, end); xx++) if (rnd() < 0.6) img[yy * width + xx] = ink;
      x += w + 2 + (rnd() < 0.15 ? lines.lineHeight : 0);
    }
  }
  return img;
}

/** The classifier's input: one text line, 1×3×48×192, (v − 0.5) / 0.5 as PP-OCR's cls preprocessing; `flipped` turns it 180°. */
export function textLineInput(seed: number, flipped = false): Float32Array {
  const [h, w] = [48, 192];
  const rnd = random(seed + 7);
  const lineHeight = 20 + Math.floor(rnd() * 12);
  const img = paper(h, w, seed, { top: Math.floor((h - lineHeight) / 2), lineHeight, pitch: h });
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < h * w; i++) {
      const v = flipped ? img[h * w - 1 - i]! : img[i]!;
      out[c * h * w + i] = (v - 0.5) / 0.5;
    }
  return out;
}

/** The detector's input: a page of text lines, 1×3×size×size, ImageNet mean/std as PP-OCR's det preprocessing. */
export function textPageInput(seed: number, size = 320): Float32Array {
  const rnd = random(seed + 11);
  const lineHeight = 8 + Math.floor(rnd() * 10);
  const img = paper(size, size, seed, { top: 6 + Math.floor(rnd() * 10), lineHeight, pitch: lineHeight + 8 + Math.floor(rnd() * 10) });
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let i = 0; i < size * size; i++) out[c * size * size + i] = (img[i]! - mean[c]!) / std[c]!;
  return out;
}

/** A KServe v2 infer request carrying one FP32 input (the golden-input and calibration-file format). */
export function inferRequest(name: string, shape: number[], data: Float32Array): { inputs: { name: string; shape: number[]; datatype: 'FP32'; data: number[] }[] } {
  return { inputs: [{ name, shape, datatype: 'FP32', data: Array.from(data, (v) => Math.round(v * 1e5) / 1e5) }] };
}
