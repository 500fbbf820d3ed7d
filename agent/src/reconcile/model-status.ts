import type { EpCandidate, ErrorInfo, ExecutionProvider, ModelState } from '@edgefleet/shared';

/** In-memory progress of each model, merged with the durable repository state into the report. */
export interface ModelStatus {
  state: ModelState;
  target?: string;
  progress?: { bytes: number; total: number };
  lastError?: ErrorInfo;
  ep?: ExecutionProvider;
  epCandidates?: EpCandidate[];
  rolloutId?: string;
}

export type StatusBoard = Map<string, ModelStatus>;

export function updateStatus(board: StatusBoard, model: string, patch: StatusPatch): void {
  const { clear, ...rest } = patch;
  const next: ModelStatus = { ...(board.get(model) ?? { state: 'pending' }), ...rest };
  for (const k of clear ?? []) delete next[k];
  board.set(model, next);
}

export type StatusPatch = Partial<ModelStatus> & { clear?: (keyof ModelStatus)[] };
