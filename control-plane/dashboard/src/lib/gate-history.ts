import type { GateResult, RolloutEvent, RolloutView } from '@edgefleet/shared';

export interface GatePoint {
  /** Unix ms. */
  t: number;
  wave: number;
  value: number | null;
  threshold: number | null;
  status: GateResult['status'];
}

/**
 * Gate values over time, per gate name. Points come from the rollout's evaluation events (past and
 * live) and from snapshots of the current wave each time the page refreshes; one point per
 * (gate, time) so a refresh never doubles a line.
 */
export class GateHistory {
  private readonly points = new Map<string, Map<number, GatePoint>>();

  addResults(t: number, wave: number, results: readonly GateResult[]): void {
    for (const r of results) {
      const series = this.points.get(r.gate) ?? new Map<number, GatePoint>();
      series.set(t, { t, wave, value: r.value ?? null, threshold: r.threshold ?? null, status: r.status });
      this.points.set(r.gate, series);
    }
  }

  /** Takes every array of gate results found in an event's data (`results`, `gates`, `halt.results`). */
  addEvent(event: RolloutEvent): void {
    const t = Date.parse(event.at);
    if (!Number.isFinite(t)) return;
    const wave = typeof event.data.wave === 'number' ? event.data.wave : -1;
    // The engine's gate-breach event carries the tripping gate's numbers directly.
    if (event.type === 'gate-breach' && typeof event.data.gate === 'string') {
      const d = event.data as { gate: GateResult['gate']; value?: number; threshold?: number; samples?: number };
      this.addResults(t, wave, [{ gate: d.gate, status: 'fail', value: d.value, threshold: d.threshold, samples: d.samples ?? 0, minSamples: 0 }]);
    }
    for (const value of [event.data.results, event.data.gates, (event.data.halt as { results?: unknown } | undefined)?.results]) {
      if (Array.isArray(value) && value.every(isGateResult)) this.addResults(t, wave, value);
    }
  }

  addSnapshot(rollout: RolloutView, t = Date.now()): void {
    for (const wave of rollout.waves) {
      if (wave.state === 'baking' || wave.index === rollout.currentWave) this.addResults(t, wave.index, wave.gates);
    }
    if (rollout.halt) {
      const at = Date.parse(rollout.halt.at);
      if (Number.isFinite(at)) this.addResults(at, rollout.halt.wave ?? -1, rollout.halt.results);
    }
  }

  gates(): string[] {
    return [...this.points.keys()].sort();
  }

  series(gate: string): GatePoint[] {
    return [...(this.points.get(gate)?.values() ?? [])].sort((a, b) => a.t - b.t);
  }
}

function isGateResult(value: unknown): value is GateResult {
  return typeof value === 'object' && value !== null && typeof (value as GateResult).gate === 'string' && typeof (value as GateResult).status === 'string';
}
