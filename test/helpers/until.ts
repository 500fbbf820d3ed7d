/**
 * Polls `probe` every 50 ms until it returns something other than undefined; for tests that wait on
 * what a real process reports over MQTT, where there is no event to await.
 */
export async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000, detail?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${detail ? `; ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
