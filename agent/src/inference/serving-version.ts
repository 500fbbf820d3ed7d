import { EdgefleetError, toEdgefleetError, type EpCandidate, type ExecutionProvider, type TensorSpec } from '@edgefleet/shared';
import type { InferResult, Tensor, VersionStatus } from './runtime-port.js';
import type { ModelSession } from './session-port.js';

export interface RequestOutcome {
  ok: boolean;
  reason?: string;
  queueMs: number;
  computeMs: number;
  /** Inferences in the request (first dimension of the first input), for inference_count. */
  batch?: number;
}

interface Job {
  inputs: Tensor[];
  outputs: string[] | undefined;
  enqueuedAt: number;
  resolve: (r: InferResult) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

export interface ServingVersionOptions {
  model: string;
  version: string;
  session: ModelSession;
  ep: ExecutionProvider;
  epCandidates: EpCandidate[];
  loadMs: number;
  queueDepth: number;
  requestTimeoutMs: number;
  onOutcome: (outcome: RequestOutcome) => void;
}

/**
 * One loaded model version: its session and a bounded FIFO in front of it. One run is in flight at
 * a time (session.run holds its worker anyway), so time spent queued is measured here, not hidden
 * in the worker's message queue. Beyond `queueDepth` waiting requests, new ones get
 * INFERENCE_QUEUE_FULL (429) rather than waiting without bound.
 */
export class ServingVersion {
  readonly model: string;
  readonly version: string;
  readonly ep: ExecutionProvider;
  readonly epCandidates: EpCandidate[];
  readonly loadMs: number;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  state: VersionStatus['state'] = 'AVAILABLE';
  private readonly queue: Job[] = [];
  private running = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly options: ServingVersionOptions) {
    this.model = options.model;
    this.version = options.version;
    this.ep = options.ep;
    this.epCandidates = options.epCandidates;
    this.loadMs = options.loadMs;
    this.inputs = options.session.inputs;
    this.outputs = options.session.outputs;
  }

  /** Requests queued or running. */
  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  infer(inputs: Tensor[], outputs: string[] | undefined, signal?: AbortSignal): Promise<InferResult> {
    if (this.state !== 'AVAILABLE') {
      return Promise.reject(new EdgefleetError('MODEL_NOT_READY', `${this.model}@${this.version} is ${this.state.toLowerCase()}`));
    }
    if (this.queue.length >= this.options.queueDepth) {
      this.options.onOutcome({ ok: false, reason: 'INFERENCE_QUEUE_FULL', queueMs: 0, computeMs: 0 });
      return Promise.reject(
        new EdgefleetError('INFERENCE_QUEUE_FULL', `${this.model}@${this.version}: ${this.queue.length} requests already waiting (queueDepth ${this.options.queueDepth})`),
      );
    }
    return new Promise<InferResult>((resolve, reject) => {
      const job: Job = {
        inputs,
        outputs,
        enqueuedAt: performance.now(),
        resolve,
        reject,
        signal,
        onAbort: undefined,
        settled: false,
        timer: setTimeout(() => {
          this.fail(job, new EdgefleetError('INFERENCE_TIMEOUT', `${this.model}@${this.version}: no result within ${this.options.requestTimeoutMs} ms`));
        }, this.options.requestTimeoutMs),
      };
      if (signal) {
        job.onAbort = () => this.fail(job, new EdgefleetError('INFERENCE_TIMEOUT', `${this.model}@${this.version}: request aborted`, { cause: signal.reason }), 'ABORTED');
        if (signal.aborted) return job.onAbort();
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  private fail(job: Job, error: EdgefleetError, reason: string = error.code): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    const index = this.queue.indexOf(job);
    if (index >= 0) this.queue.splice(index, 1);
    this.options.onOutcome({ ok: false, reason, queueMs: performance.now() - job.enqueuedAt, computeMs: 0 });
    job.reject(error);
    this.notifyIdle();
  }

  private pump(): void {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) return this.notifyIdle();
    this.running = true;
    const queueMs = performance.now() - job.enqueuedAt;
    this.options.session
      .run(job.inputs, job.outputs)
      .then(
        (result) => {
          if (job.settled) return;
          job.settled = true;
          clearTimeout(job.timer);
          if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
          this.options.onOutcome({ ok: true, queueMs, computeMs: result.computeMs, batch: job.inputs[0]?.shape[0] ?? 1 });
          job.resolve({ model: this.model, version: this.version, ep: this.ep, outputs: result.outputs, queueMs, computeMs: result.computeMs, ...(result.inputBuffers ? { inputBuffers: result.inputBuffers } : {}) });
        },
        (error: unknown) => {
          if (job.settled) return;
          const wrapped = toEdgefleetError(error, 'INFERENCE_FAILED');
          job.settled = true;
          clearTimeout(job.timer);
          if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
          this.options.onOutcome({ ok: false, reason: wrapped.code, queueMs, computeMs: 0 });
          job.reject(wrapped);
        },
      )
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  private notifyIdle(): void {
    if (this.pending > 0) return;
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  /** Stops intake, waits for queued and running requests up to the deadline, then releases the session. */
  async drainAndRelease(deadlineMs: number): Promise<{ abandoned: number }> {
    this.state = 'UNLOADING';
    let abandoned = 0;
    if (this.pending > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        abandoned = this.pending;
        for (const job of [...this.queue]) this.fail(job, new EdgefleetError('DRAIN_TIMEOUT', `${this.model}@${this.version} unloaded before this request ran`));
      }
    }
    await this.options.session.release();
    this.state = 'END';
    return { abandoned };
  }
}
