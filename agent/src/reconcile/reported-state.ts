import type { DesiredState, ReportedModel } from '@edgefleet/shared';
import type { Pointers } from '../store/state-store.js';
import type { ModelStatus } from './model-status.js';

/** What the device holds durably, as the report needs it. */
export interface DurableView {
  allPointers(): Map<string, Pointers>;
  pointers(model: string): Pointers;
  installedVersions(model: string): string[];
}

/**
 * The `models` of the reported state: durable pointers and installed versions, merged with the
 * in-memory status of each model and what the desired state asks for. Sorted by name.
 */
export function assembleReportedModels(view: DurableView, board: ReadonlyMap<string, ModelStatus>, desired: DesiredState | undefined): ReportedModel[] {
  const names = new Set<string>([...view.allPointers().keys(), ...(desired?.models.map((m) => m.name) ?? []), ...board.keys()]);
  return [...names].sort().map((name): ReportedModel => {
    const p = view.pointers(name);
    const s = board.get(name);
    const want = desired?.models.find((m) => m.name === name);
    const target = s?.target ?? (want && want.version !== p.active ? want.version : undefined);
    const state = s?.state ?? (p.active && (!want || want.version === p.active) ? 'active' : 'pending');
    return {
      name,
      installed: view.installedVersions(name),
      ...(p.active ? { active: p.active } : {}),
      ...(p.previous ? { previous: p.previous } : {}),
      ...(target && target !== p.active ? { target } : {}),
      state,
      ...(s?.ep ? { ep: s.ep } : {}),
      ...(s?.epCandidates ? { epCandidates: s.epCandidates } : {}),
      ...(s?.progress && state === 'downloading' ? { progress: s.progress } : {}),
      ...(s?.lastError ? { lastError: { ...s.lastError, code: s.lastError.code } } : {}),
      ...(want?.rolloutId ? { rolloutId: want.rolloutId } : {}),
    };
  });
}
