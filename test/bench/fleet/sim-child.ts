/**
 * Entry point of the simulator child process (forked by sim-process.ts): hosts a FleetSim and
 * answers the benchmark's requests over the IPC channel. It exists so that thousands of simulated
 * devices do not run on the control plane's event loop (issue 10): on a 2-core machine one control
 * plane process and one simulator process each get a core.
 */
import { createFleetSim, type FleetSim } from '../../helpers/fleet-sim.js';
import type { SimRequest, SimRequests, SimResponse } from './sim-protocol.js';

let fleet: FleetSim | undefined;

function need(): FleetSim {
  if (!fleet) throw new Error('the simulator was not initialised');
  return fleet;
}

async function handle(request: SimRequest): Promise<unknown> {
  switch (request.op) {
    case 'init': {
      const args = request.args as SimRequests['init']['args'];
      fleet = createFleetSim(args);
      return { devices: fleet.size };
    }
    case 'connectAll':
      return await need().connectAll();
    case 'waitForActive': {
      const { model, version, ...rest } = request.args as SimRequests['waitForActive']['args'];
      return await need().waitForActive(model, version, rest);
    }
    case 'counters':
      return need().counters;
    case 'close':
      await fleet?.close();
      fleet = undefined;
      return {};
  }
}

process.on('message', (message: SimRequest) => {
  handle(message).then(
    (value) => process.send?.({ id: message.id, ok: true, value } satisfies SimResponse),
    (err: unknown) => process.send?.({ id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies SimResponse),
  );
});
// The parent going away (a crashed benchmark) must not leave 10,000 connections open.
process.on('disconnect', () => {
  void (fleet?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
