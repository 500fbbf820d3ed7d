import { probationSchema, type InferenceWindow, type Probation } from '@edgefleet/shared';
import { addWindow, emptyTally, judgeProbation, type ProbationTally, type ProbationVerdict } from './probation.js';

/** A freshly activated version under watch; plain data, owned by the reconcile loop's state. */
export interface ProbationWatch {
  model: string;
  version: string;
  generation: number;
  spec: Probation;
  /** Monotonic ms at which the window closes and an unbreached version passes. */
  until: number;
  tally: ProbationTally;
}

export type ProbationInput = { type: 'windows'; windows: readonly InferenceWindow[] } | { type: 'tick' };

export type ProbationOutcome =
  | { verdict: 'pending'; watch: ProbationWatch }
  | { verdict: 'passed'; metrics: ProbationVerdict['metrics'] }
  | { verdict: 'failed'; reason: string; metrics: ProbationVerdict['metrics'] };

export function startWatch(model: string, version: string, generation: number, spec: Probation, now: number): ProbationWatch {
  const p = probationSchema.parse(spec);
  return { model, version, generation, spec: p, until: now + p.windowMs, tally: emptyTally() };
}

/** How often the loop asks for a verdict: a tenth of the window, between 100 ms and 1 s. */
export function checkIntervalMs(spec: Probation): number {
  return Math.max(100, Math.min(1000, Math.floor(spec.windowMs / 10)));
}

/**
 * Pure: windows add to the tally (only those of the watched version); a tick judges it. A breach
 * fails the version at any tick inside the window; reaching `until` unbreached passes it.
 */
export function observeProbation(watch: ProbationWatch, input: ProbationInput, now: number): ProbationOutcome {
  if (input.type === 'windows') {
    const mine = input.windows.filter((w) => w.model === watch.model && w.version === watch.version);
    if (mine.length === 0) return { verdict: 'pending', watch };
    const tally = { ...watch.tally, latency: [...watch.tally.latency] };
    for (const w of mine) addWindow(tally, w);
    return { verdict: 'pending', watch: { ...watch, tally } };
  }
  const judged = judgeProbation(watch.tally, watch.spec);
  if (judged.breached) return { verdict: 'failed', reason: judged.reason ?? 'probation breached', metrics: judged.metrics };
  if (now >= watch.until) return { verdict: 'passed', metrics: judged.metrics };
  return { verdict: 'pending', watch };
}
