/**
 * A small seeded PRNG (mulberry32) so every fuzz run is reproducible: a failing case prints its
 * seed and index, and `createPrng(seed)` replays exactly the same inputs.
 */
export interface Prng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  bool(p?: number): boolean;
  bytes(n: number): Buffer;
  /** Printable-ish string of `n` characters drawn from a mix of ASCII, control, and multi-byte code points. */
  string(n: number): string;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[int(0, items.length - 1)] as T;
  };
  const alphabets = ['abcdefghijklmnopqrstuvwxyz0123456789', '/+#$\\"\'{}[]:,.\u0000\n\t%', 'äöü€😀\u202e\ufeff漢字'];
  return {
    seed,
    next,
    int,
    pick,
    bool: (p = 0.5) => next() < p,
    bytes: (n) => {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 1) out[i] = int(0, 255);
      return out;
    },
    string: (n) => {
      const alphabet = [...pick(alphabets)];
      let s = '';
      for (let i = 0; i < n; i += 1) s += pick(alphabet);
      return s;
    },
  };
}
