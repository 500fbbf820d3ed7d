/**
 * The IPC protocol between a benchmark and its simulator child process (sim-child.ts): one request
 * per operation of FleetSim, answered by id. Node's fork() channel carries the JSON.
 */
import type { ConnectStormResult, FleetSimOptions, SimCounters, WaitResult } from '../../helpers/fleet-sim.js';

export interface SimRequests {
  init: { args: FleetSimOptions; result: { devices: number } };
  connectAll: { args: Record<string, never>; result: ConnectStormResult };
  waitForActive: { args: { model: string; version: string; timeoutMs: number; count?: number; sinceMs?: number }; result: WaitResult };
  counters: { args: Record<string, never>; result: SimCounters };
  close: { args: Record<string, never>; result: Record<string, never> };
}

export type SimOp = keyof SimRequests;

export interface SimRequest<O extends SimOp = SimOp> {
  id: number;
  op: O;
  args: SimRequests[O]['args'];
}

export type SimResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
