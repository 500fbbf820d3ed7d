import pino from 'pino';
import { EdgefleetError, LATENCY_BUCKETS_MS, type DesiredModel, type DesiredState, type InferenceWindow, type Probation } from '@edgefleet/shared';
import type { FailureRecord, Pointers } from '../store/state-store.js';
import type { DeploymentEventInput } from './deployment-events.js';
import { createFailureStore } from './failure-store.js';
import { failureKey, type Step } from './plan.js';
import type { LoopPorts } from './reconcile-loop.js';

/**
 * An in-memory device for the reconcile loop: pointers, installed and loaded versions, a manual
 * clock and timers, and steps that can be held mid-flight. It records every operation with the
 * number of works running at that moment, so tests can prove "one at a time" instead of assuming it.
 */
export interface FakeDevice {
  now: number;
  pointers: Map<string, Pointers>;
  installed: Map<string, Map<string, string>>;
  loaded: Map<string, Set<string>>;
  staged: Set<string>;
  failures: Map<string, FailureRecord>;
  persistedDesired: DesiredState | undefined;
  persistedApplied: number;
  events: DeploymentEventInput[];
  /** Every operation a work did, with how many works were running when it did it. */
  ops: { op: string; model: string; version?: string; running: number }[];
  /** The most works ever running at once. */
  maxRunning: number;
  /** While true, activate steps wait for `release()` (or their abort) before moving the pointer. */
  holdActivate: boolean;
  held(): number;
  release(): void;
  /** Windows the next poll hands out. */
  pendingWindows: InferenceWindow[];
  advance(ms: number): void;
  ports(): LoopPorts;
}

export const shaOf = (version: string): string => `sha-${version}`;

export function desiredModel(name: string, version: string, probation?: Probation): DesiredModel {
  return { name, version, artifact: { sha256: shaOf(version), size: 1, createdAt: '2026-01-01T00:00:00Z', signature: 'sig' }, ...(probation ? { probation } : {}) };
}

export function desiredState(generation: number, ...models: DesiredModel[]): DesiredState {
  return { deviceId: 'd1', generation, issuedAt: '2026-01-01T00:00:00Z', models };
}

/** A window in which every request failed. */
export function failingWindow(model: string, version: string, requests = 10): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[0] = requests;
  return { model, version, ep: 'cpu', from: 0, to: 1, requests, failures: { INFERENCE_FAILED: requests }, latency, latencySumMs: 0, queueSumMs: 0 };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export function createFakeDevice(): FakeDevice {
  let running = 0;
  const gates = new Set<() => void>();
  const timers = new Set<{ at: number; every?: number; fn: () => void }>();
  const listeners = new Set<(w: InferenceWindow[]) => void>();
  const store = {
    recordFailure: (f: FailureRecord): void => void device.failures.set(failureKey(f.model, f.version, f.sha256), f),
    failure: (model: string, version: string, sha256: string): FailureRecord | undefined => device.failures.get(failureKey(model, version, sha256)),
  };
  const op = (name: string, model: string, version?: string): void => void device.ops.push({ op: name, model, ...(version ? { version } : {}), running });

  async function work<T>(fn: () => Promise<T>): Promise<T> {
    running++;
    device.maxRunning = Math.max(device.maxRunning, running);
    try {
      return await fn();
    } finally {
      running--;
    }
  }

  /** Waits for release; on abort, cleans up (as steps.ts re-labels the old active) a turn later, then rejects. */
  function hold(signal: AbortSignal, model: string, restore: string | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const open = (): void => {
        gates.delete(open);
        resolve();
      };
      const aborted = (): void => {
        gates.delete(open);
        void tick().then(() => {
          op('cleanup-relabel', model, restore);
          reject(signal.reason instanceof Error ? signal.reason : new EdgefleetError('INTERNAL', 'aborted'));
        });
      };
      // Aborted before it got here: no abort event will come.
      if (signal.aborted) return aborted();
      gates.add(open);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  async function runStep(step: Step, signal: AbortSignal, startProbation: (model: string, version: string, generation: number) => void): Promise<void> {
    const { model } = step;
    const versions = (device.installed.get(model) ?? new Map<string, string>());
    device.installed.set(model, versions);
    const loaded = device.loaded.get(model) ?? new Set<string>();
    device.loaded.set(model, loaded);
    await tick();
    switch (step.type) {
      case 'load':
        op('load', model, step.version);
        loaded.add(step.version);
        return;
      case 'download':
        op('download', model, step.version);
        device.staged.add(step.artifact.sha256);
        return;
      case 'verify':
        op('install', model, step.version);
        device.staged.delete(step.artifact.sha256);
        versions.set(step.version, step.artifact.sha256);
        return;
      case 'activate': {
        const before = device.pointers.get(model) ?? {};
        op('activate-start', model, step.version);
        if (device.holdActivate) await hold(signal, model, before.active);
        signal.throwIfAborted();
        const next: Pointers = { active: step.version, ...(before.active ? { previous: before.active } : {}) };
        device.pointers.set(model, next);
        op('pointer-switch', model, step.version);
        loaded.add(step.version);
        for (const v of [...loaded]) if (v !== next.active && v !== next.previous) loaded.delete(v);
        if (step.desired.probation) startProbation(model, step.version, device.persistedDesired?.generation ?? 0);
        return;
      }
      case 'prune':
        op('prune', model);
        for (const v of [...versions.keys()]) if (!step.keep.includes(v)) versions.delete(v);
        return;
      case 'retire':
        op('retire', model);
        device.installed.delete(model);
        device.pointers.delete(model);
        device.loaded.delete(model);
        return;
    }
  }

  async function switchBack(model: string, from: string): Promise<string> {
    await tick();
    const p = device.pointers.get(model);
    if (!p?.previous) throw new EdgefleetError('ROLLBACK_UNAVAILABLE', `${model} has no previous version to roll back to`);
    device.pointers.set(model, { active: p.previous });
    op('pointer-switch', model, p.previous);
    device.loaded.get(model)?.delete(from);
    return p.previous;
  }

  const device: FakeDevice = {
    now: 0,
    pointers: new Map(),
    installed: new Map(),
    loaded: new Map(),
    staged: new Set(),
    failures: new Map(),
    persistedDesired: undefined,
    persistedApplied: 0,
    events: [],
    ops: [],
    maxRunning: 0,
    holdActivate: false,
    pendingWindows: [],
    held: () => gates.size,
    release() {
      for (const open of [...gates]) open();
    },
    advance(ms) {
      const end = device.now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        device.now = Math.max(device.now, due.at);
        if (due.every) due.at += due.every;
        else timers.delete(due);
        due.fn();
      }
      device.now = end;
    },
    ports() {
      const schedule = (ms: number, fn: () => void, every?: number): (() => void) => {
        const t = { at: device.now + ms, fn, ...(every ? { every } : {}) };
        timers.add(t);
        return () => timers.delete(t);
      };
      return {
        logger: pino({ level: 'silent' }),
        now: () => device.now,
        after: (ms, fn) => schedule(ms, fn),
        every: (ms, fn) => schedule(ms, fn, ms),
        initialDesired: device.persistedDesired,
        initialApplied: device.persistedApplied,
        keepExtraVersions: 0,
        current() {
          const models: ReturnType<LoopPorts['current']>['models'] = {};
          for (const model of new Set([...device.installed.keys(), ...device.pointers.keys()])) {
            const p = device.pointers.get(model) ?? {};
            models[model] = { installed: Object.fromEntries(device.installed.get(model) ?? []), loaded: [...(device.loaded.get(model) ?? [])], ...p };
          }
          return { models, staged: [...device.staged] };
        },
        pointers: (model) => ({ ...device.pointers.get(model) }),
        installedSha: (model, version) => device.installed.get(model)?.get(version),
        runStep: (step, signal, startProbation) => work(() => runStep(step, signal, startProbation)),
        switchBack: (model, from) => work(() => switchBack(model, from)),
        persistDesired: (d) => void (device.persistedDesired = d),
        persistApplied: (g) => void (device.persistedApplied = g),
        failures: createFailureStore(store, pino({ level: 'silent' })),
        journal: { emit: (e) => void device.events.push(e), retry: () => undefined },
        board: new Map(),
        windows: {
          subscribe(listener) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
          poll() {
            const w = device.pendingWindows;
            device.pendingWindows = [];
            if (w.length) for (const l of listeners) l(w);
          },
        },
        report: () => undefined,
      };
    },
  };
  return device;
}

/** Lets held-back promise chains run: a few turns of the event loop. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await tick();
}
