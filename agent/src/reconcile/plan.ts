import type { ArtifactRef, DesiredModel, DesiredState, ErrorCode } from '@edgefleet/shared';

/** What the reconciler knows about one model on this device, gathered fresh before each plan. */
export interface ModelCurrent {
  active?: string;
  previous?: string;
  /** version → sha256 of verified, installed files. */
  installed: Record<string, string>;
  /** Versions loaded in the inference runtime. */
  loaded: string[];
}

export interface CurrentState {
  models: Record<string, ModelCurrent>;
  /** sha256s whose staging file is completely downloaded (not yet verified). */
  staged: string[];
  /** Terminal failures: `${model}@${version}#${sha256}` → the generation they happened in. */
  failures: Record<string, { generation: number; code: ErrorCode }>;
}

/** Typed steps: plain data, so a plan can be logged, compared in tests and applied one at a time. */
export type Step =
  | { type: 'load'; model: string; version: string }
  | { type: 'download'; model: string; version: string; artifact: ArtifactRef }
  | { type: 'verify'; model: string; version: string; artifact: ArtifactRef }
  | { type: 'activate'; model: string; version: string; desired: DesiredModel }
  | { type: 'retire'; model: string }
  | { type: 'prune'; model: string; keep: string[] };

export type StepType = Step['type'];

export function failureKey(model: string, version: string, sha256: string): string {
  return `${model}@${version}#${sha256}`;
}

const EMPTY: ModelCurrent = { installed: {}, loaded: [] };

/**
 * Desired vs current → the steps that move the device toward the desired state. Pure: no I/O, no
 * clock. The reconciler applies the first step, re-reads the current state and plans again, until
 * the plan is empty. A version that failed terminally in this generation is not retried until a
 * newer generation arrives.
 */
export function plan(desired: DesiredState | undefined, current: CurrentState, options: { keepExtraVersions?: number } = {}): Step[] {
  const keepExtra = options.keepExtraVersions ?? 0;
  const steps: Step[] = [];
  // Serving comes first: after a restart every active version is loaded before any new work.
  for (const [model, c] of Object.entries(current.models)) {
    if (c.active && c.installed[c.active] && !c.loaded.includes(c.active)) steps.push({ type: 'load', model, version: c.active });
  }
  if (!desired) return steps;

  const staged = new Set(current.staged);
  for (const m of desired.models) {
    const c = current.models[m.name] ?? EMPTY;
    const failed = current.failures[failureKey(m.name, m.version, m.artifact.sha256)];
    if (failed && failed.generation >= desired.generation) continue;
    if (c.active === m.version) {
      const keep = new Set([m.version, ...(c.previous ? [c.previous] : [])]);
      const extras = Object.keys(c.installed).filter((v) => !keep.has(v));
      if (extras.length > keepExtra) steps.push({ type: 'prune', model: m.name, keep: [...keep] });
      continue;
    }
    if (c.installed[m.version] === m.artifact.sha256) steps.push({ type: 'activate', model: m.name, version: m.version, desired: m });
    else if (staged.has(m.artifact.sha256)) steps.push({ type: 'verify', model: m.name, version: m.version, artifact: m.artifact });
    else steps.push({ type: 'download', model: m.name, version: m.version, artifact: m.artifact });
  }

  const wanted = new Set(desired.models.map((m) => m.name));
  for (const model of Object.keys(current.models)) {
    if (!wanted.has(model)) steps.push({ type: 'retire', model });
  }
  return steps;
}
