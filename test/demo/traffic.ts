/**
 * A light, steady inference load on every agent's local API (KServe v2 `infer`), so the rollout
 * gates that compare model behaviour have real requests to look at and the summary can say how
 * many requests the fleet served while its model changed under it.
 */
import type { DemoAgent } from './fleet.js';

export interface TrafficStats {
  ok: number;
  failed: number;
  /** HTTP status (or `network`) → count, for the failed ones. */
  failures: Record<string, number>;
}

export interface Traffic {
  stats(): TrafficStats;
  stop(): Promise<void>;
}

export function startTraffic(options: { agents: DemoAgent[]; model: string; intervalMs: number }): Traffic {
  const stats: TrafficStats = { ok: 0, failed: 0, failures: {} };
  // 1×3×48×192 float32, the classifier's input: a mid-grey image.
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3, 48, 192], datatype: 'FP32', data: new Array<number>(3 * 48 * 192).fill(0.5) }] });
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const fail = (why: string): void => {
    stats.failed += 1;
    stats.failures[why] = (stats.failures[why] ?? 0) + 1;
  };
  const once = async (agent: DemoAgent): Promise<void> => {
    try {
      const response = await fetch(`${agent.apiUrl}/v2/models/${options.model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(5000),
      });
      await response.arrayBuffer();
      if (response.ok) stats.ok += 1;
      else fail(String(response.status));
    } catch {
      fail('network');
    }
  };
  const timer = setInterval(() => {
    if (stopped) return;
    for (const agent of options.agents) {
      // One request per agent at a time: the load never piles up on a slow machine.
      if ([...inFlight].length >= options.agents.length) break;
      const p = once(agent).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }, options.intervalMs);
  return {
    stats: () => ({ ...stats, failures: { ...stats.failures } }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...inFlight]);
    },
  };
}
