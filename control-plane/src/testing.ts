/**
 * @edgefleet/control-plane/testing — in-memory versions of the rollout engine's ports (a manual
 * clock, directory, catalog, desired-state publisher, event source, cohort health and audit log),
 * for engine tests and the simulated fleet of the benchmarks; kept out of the package's public face.
 *
 * @example
 *   const clock = manualClock();
 *   const ports = { clock, devices: memoryDirectory(fleet), models: memoryCatalog(models), desired: memoryDesiredState(),
 *     events: memoryEvents(), health: memoryHealth(), audit: memoryAudit() };
 *   const service = await createRolloutService({ sql, migrate: (ns, steps) => migrate(sql, ns, steps), ports });
 *   clock.advance(60_000);
 */
export { manualClock, memoryAudit, memoryCatalog, memoryDesiredState, memoryDirectory, memoryEvents, memoryHealth, type DeviceBehaviour, type ManualClock, type PublishRecord } from './rollout/memory-ports.js';
