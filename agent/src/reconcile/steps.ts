import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { EdgefleetError, toEdgefleetError, type AgentConfig, type DesiredState } from '@edgefleet/shared';
import type { InferenceRuntime } from '../inference/runtime-port.js';
import type { ArtifactFetcher } from '../delivery/fetcher.js';
import { assertDiskSpace } from '../delivery/disk-check.js';
import { verifyArtifactFile, verifySignature } from '../delivery/verify.js';
import type { ModelRepository } from '../repository/model-repository.js';
import type { StateStore } from '../store/state-store.js';
import type { DeploymentJournal } from './deployment-events.js';
import { updateStatus, type StatusBoard } from './model-status.js';
import { fetchGoldenInput } from './golden-input.js';
import type { Step } from './plan.js';
import { TERMINAL_CODES } from './terminal-codes.js';

export interface StepContext {
  config: Readonly<AgentConfig>;
  store: StateStore;
  repository: ModelRepository;
  runtime: InferenceRuntime;
  mqttFetcher: ArtifactFetcher;
  httpFetcher: ArtifactFetcher;
  journal: DeploymentJournal;
  board: StatusBoard;
  logger: Logger;
  desired: () => DesiredState | undefined;
  /** Asks for a (throttled) reported-state publish. */
  report: () => void;
  /** Starts the probation watch of a freshly activated version. */
  startProbation: (model: string, version: string, generation: number) => void;
}

function generation(ctx: StepContext): number {
  return ctx.desired()?.generation ?? 0;
}

function rolloutOf(ctx: StepContext, model: string): { rolloutId?: string } {
  const id = ctx.desired()?.models.find((m) => m.name === model)?.rolloutId;
  return id ? { rolloutId: id } : {};
}

async function unloadQuietly(ctx: StepContext, model: string, version: string): Promise<void> {
  try {
    await ctx.runtime.unload(model, version, ctx.config.drainDeadlineMs);
  } catch (err) {
    ctx.logger.warn({ err, model, version }, 'unload failed');
  }
}

export async function applyStep(ctx: StepContext, step: Step, signal: AbortSignal): Promise<void> {
  switch (step.type) {
    case 'load': {
      const v = ctx.repository.installed(step.model, step.version);
      if (!v) throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `${step.model}@${step.version} is not installed`);
      const loaded = await ctx.runtime.load({ model: step.model, version: step.version, path: v.path, sha256: v.sha256 });
      ctx.runtime.setLabel(step.model, 'active', step.version);
      updateStatus(ctx.board, step.model, { state: 'active', ep: loaded.ep, epCandidates: loaded.epCandidates, clear: ['progress'] });
      ctx.logger.info({ model: step.model, version: step.version, ep: loaded.ep }, 'serving the active version');
      return;
    }
    case 'download': {
      const { model, version, artifact } = step;
      const base = { generation: generation(ctx), model, version, ...rolloutOf(ctx, model) };
      // Refuse to spend bandwidth on an artifact whose manifest is not signed by the fleet key.
      verifySignature(model, version, artifact, ctx.config.fleetPublicKey);
      const staging = ctx.repository.stagingPath(artifact.sha256);
      const record = ctx.store.getDownload(artifact.sha256);
      const have = record ? ctx.store.doneChunks(artifact.sha256).size * record.chunkBytes : 0;
      await assertDiskSpace(ctx.repository.stagingDir, Math.max(0, artifact.size - have), ctx.config.delivery.diskMarginBytes);
      updateStatus(ctx.board, model, { state: 'downloading', target: version, progress: { bytes: 0, total: artifact.size }, ...rolloutOf(ctx, model) });
      ctx.journal.emit({ ...base, type: 'downloading', bytes: Math.min(have, artifact.size), total: artifact.size });
      const fetcher = artifact.url ? ctx.httpFetcher : ctx.mqttFetcher;
      await fetcher.fetch({
        model,
        version,
        artifact,
        path: staging,
        signal,
        onProgress: (bytes, total) => {
          updateStatus(ctx.board, model, { progress: { bytes, total } });
          ctx.report();
        },
      });
      return;
    }
    case 'verify': {
      const { model, version, artifact } = step;
      const staging = ctx.repository.stagingPath(artifact.sha256);
      updateStatus(ctx.board, model, { state: 'verifying', target: version });
      try {
        await verifyArtifactFile(staging, model, version, artifact, ctx.config.fleetPublicKey);
      } catch (err) {
        // A file that failed verification is never kept: the next attempt starts from nothing.
        ctx.store.deleteDownload(artifact.sha256);
        await rm(staging, { force: true });
        throw err;
      }
      signal.throwIfAborted();
      await ctx.repository.install(model, version, artifact, staging);
      ctx.store.deleteDownload(artifact.sha256);
      ctx.journal.emit({ generation: generation(ctx), model, version, ...rolloutOf(ctx, model), type: 'verified' });
      return;
    }
    case 'activate':
      return activate(ctx, step, signal);
    case 'retire': {
      for (const s of ctx.runtime.status(step.model)) await unloadQuietly(ctx, step.model, s.version);
      await ctx.repository.remove(step.model);
      ctx.board.delete(step.model);
      return;
    }
    case 'prune': {
      const keep = new Set(step.keep);
      for (const s of ctx.runtime.status(step.model)) if (!keep.has(s.version)) await unloadQuietly(ctx, step.model, s.version);
      const removed = await ctx.repository.prune(step.model, keep, ctx.config.delivery.keepExtraVersions);
      ctx.logger.info({ model: step.model, removed }, 'pruned old versions');
      return;
    }
  }
}

async function activate(ctx: StepContext, step: Extract<Step, { type: 'activate' }>, signal: AbortSignal): Promise<void> {
  const { model, version, desired } = step;
  const gen = generation(ctx);
  const base = { generation: gen, model, version, ...rolloutOf(ctx, model) };
  const v = ctx.repository.installed(model, version);
  if (!v) throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `${model}@${version} is not installed`);
  const before = ctx.repository.pointers(model);
  updateStatus(ctx.board, model, { state: 'loading', target: version, clear: ['progress'] });
  ctx.journal.emit({ ...base, type: 'loading' });
  let loaded;
  try {
    // The golden input comes first: shaped like real requests, it is also what the EP and thread
    // benchmark at load measures on (a generated input for a variable-size image is 64×64).
    const golden = desired.golden
      ? await fetchGoldenInput(desired.golden, ctx.repository.stagingPath(`${desired.golden.sha256}.golden`), ctx.mqttFetcher, () => ctx.store.deleteDownload(desired.golden?.sha256 ?? ''), model, version, signal)
      : undefined;
    // Beside the old version: it keeps serving until the label moves.
    loaded = await ctx.runtime.load({ model, version, path: v.path, sha256: v.sha256, ...(desired.ep ? { ep: desired.ep } : {}), ...(golden ? { warmupInputs: golden } : {}) });
    signal.throwIfAborted();
    updateStatus(ctx.board, model, { state: 'smoke-testing' });
    ctx.journal.emit({ ...base, type: 'smoke-testing' });
    await ctx.runtime.smokeTest(model, version, golden);
    signal.throwIfAborted();
  } catch (err) {
    await unloadQuietly(ctx, model, version);
    if (before.active) ctx.runtime.setLabel(model, 'active', before.active);
    const e = toEdgefleetError(err, 'MODEL_LOAD_FAILED');
    // A version that cannot load or fails its smoke test is of no use as a rollback target either.
    if (TERMINAL_CODES.has(e.code) && !signal.aborted) await ctx.repository.removeVersion(model, version);
    throw e;
  }
  const pointers = await ctx.repository.activate(model, version);
  ctx.runtime.setLabel(model, 'active', version);
  // Keep the active and the previous loaded (instant rollback); release anything older.
  for (const s of ctx.runtime.status(model)) {
    if (s.version !== version && s.version !== pointers.previous) await unloadQuietly(ctx, model, s.version);
  }
  updateStatus(ctx.board, model, { state: desired.probation ? 'probation' : 'active', ep: loaded.ep, epCandidates: loaded.epCandidates, clear: ['target', 'lastError'] });
  ctx.journal.emit({ ...base, type: 'active', ep: loaded.ep, epCandidates: loaded.epCandidates, ...(pointers.previous ? { previous: pointers.previous } : {}) });
  if (desired.probation) ctx.startProbation(model, version, gen);
}
