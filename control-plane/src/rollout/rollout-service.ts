/**
 * The rollout service: store migrations + engine + operations in one factory, which is what the
 * server wires (see index.ts for the exports).
 *
 * @example
 *   const rollouts = await createRolloutService({ sql: store.sql, migrate: store.migrate, ports });
 *   await rollouts.engine.start();
 *   await rollouts.operations.create({ model: 'det', version: '2', target: { kind: 'all' } }, 'alice');
 *   // shutdown: await rollouts.engine.stop();
 */
import type { SqlDatabase } from '../store/sql-database.js';
import { createRolloutEngine, type RolloutEngine, type RolloutEngineOptions } from './engine.js';
import type { RolloutPorts } from './ports.js';
import { createRolloutOperations, type RolloutOperations } from './rollout-operations.js';
import { ROLLOUT_MIGRATIONS, createRolloutStore } from './rollout-store.js';

export interface RolloutServiceOptions extends Omit<RolloutEngineOptions, 'store' | 'ports'> {
  sql: SqlDatabase;
  /** The store's namespaced migrator (Store.migrate). */
  migrate: (namespace: string, steps: readonly string[]) => Promise<void>;
  ports: RolloutPorts;
}

export interface RolloutService {
  engine: RolloutEngine;
  operations: RolloutOperations;
}

export async function createRolloutService(options: RolloutServiceOptions): Promise<RolloutService> {
  const { sql, migrate, ports, ...engineOptions } = options;
  await migrate('rollout', ROLLOUT_MIGRATIONS);
  const engine = createRolloutEngine({ ...engineOptions, store: createRolloutStore(sql), ports });
  return { engine, operations: createRolloutOperations(engine) };
}
