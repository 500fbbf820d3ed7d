import type { Logger } from 'pino';
import { encodePayload, reportedStateSchema, type HardwareProfile, type ReportedState } from '@edgefleet/shared';
import { freeDiskBytes } from '../delivery/disk-check.js';
import type { MqttSession } from '../mqtt/session.js';
import type { Reconciler } from './reconciler.js';

export interface StateReporter {
  /** Asks for a publish; calls within `minIntervalMs` coalesce into one. */
  request(): void;
  /** The report as it would be published now. */
  snapshot(): Promise<ReportedState>;
  stop(): void;
}

/** Publishes the retained reported state, coalesced, and again on every (re)connect. */
export function createStateReporter(opts: {
  deviceId: string;
  agentVersion: string;
  dataDir: string;
  session: MqttSession;
  reconciler: () => Reconciler | undefined;
  hardware?: () => HardwareProfile | undefined;
  executionProviders?: () => ReportedState['executionProviders'];
  logger: Logger;
  minIntervalMs?: number;
}): StateReporter {
  const minInterval = opts.minIntervalMs ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let last = Number.NEGATIVE_INFINITY;
  let stopped = false;

  async function snapshot(): Promise<ReportedState> {
    const r = opts.reconciler();
    const hardware = opts.hardware?.();
    let free: number | undefined;
    try {
      free = await freeDiskBytes(opts.dataDir);
    } catch {
      free = undefined;
    }
    return reportedStateSchema.parse({
      deviceId: opts.deviceId,
      observedGeneration: r?.observedGeneration ?? 0,
      appliedGeneration: r?.appliedGeneration ?? 0,
      agentVersion: opts.agentVersion,
      reportedAt: new Date().toISOString(),
      ...(hardware ? { hardware } : {}),
      executionProviders: opts.executionProviders?.() ?? [],
      models: r?.reportedModels() ?? [],
      ...(free !== undefined ? { freeDiskBytes: free } : {}),
    });
  }

  async function publish(): Promise<void> {
    timer = undefined;
    if (stopped || !opts.session.connected) return;
    // Monotonic: a wall-clock step backwards (NTP, RTC reset) must not postpone the next report by the size of the step.
    last = performance.now();
    try {
      await opts.session.publish('reported', encodePayload(reportedStateSchema, await snapshot()));
    } catch (err) {
      opts.logger.debug({ err }, 'reported state not published');
    }
  }

  function request(): void {
    if (timer || stopped) return;
    const wait = Math.max(0, last + minInterval - performance.now());
    timer = setTimeout(() => void publish(), wait);
  }
  opts.session.onConnect(request);
  return {
    request,
    snapshot,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
