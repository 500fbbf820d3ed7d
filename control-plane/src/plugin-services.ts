import { EdgefleetError } from '@edgefleet/shared';
import type { TelemetryService } from './telemetry/telemetry-service.js';

/**
 * What plugins offer each other (issue 16). A plugin owns its tables and reaches another
 * plugin's data only through the service that plugin publishes here, never through its SQL: the
 * telemetry plugin publishes TELEMETRY_SERVICE, the rollout plugin ROLLOUT_COHORTS. Keys are
 * typed, so a lookup returns the published interface; only types are imported here, so plugins
 * that depend on each other's services do not import each other's modules.
 */
export interface ServiceKey<T> {
  readonly name: string;
  /** Carries T for the type checker only. */
  readonly _type?: (value: T) => void;
}

export function serviceKey<T>(name: string): ServiceKey<T> {
  return { name };
}

export interface PluginServices {
  /** Publishes a service; a second publish of the same key is a wiring error. */
  provide<T>(key: ServiceKey<T>, service: T, by: string): void;
  /** The service, or a CONFIG_INVALID error naming the plugin `neededBy` needs first. */
  need<T>(key: ServiceKey<T>, neededBy: string): T;
  /** The service when some plugin published it (optional dependencies, resolved at use time). */
  find<T>(key: ServiceKey<T>): T | undefined;
}

export function createPluginServices(): PluginServices {
  const services = new Map<string, { service: unknown; by: string }>();
  return {
    provide(key, service, by) {
      const existing = services.get(key.name);
      if (existing) throw new EdgefleetError('CONFIG_INVALID', `service ${key.name} is already provided by plugin ${existing.by} (plugin ${by} provides it again)`);
      services.set(key.name, { service, by });
    },
    need<T>(key: ServiceKey<T>, neededBy: string): T {
      const entry = services.get(key.name);
      if (!entry) throw new EdgefleetError('CONFIG_INVALID', `plugin ${neededBy} needs the ${key.name} service: add the plugin that provides it before ${neededBy} in the plugin list`);
      return entry.service as T;
    },
    find<T>(key: ServiceKey<T>): T | undefined {
      return services.get(key.name)?.service as T | undefined;
    },
  };
}

/** Published by the telemetry plugin: ingestion, queries and the rollout engine's cohort health. */
export const TELEMETRY_SERVICE = serviceKey<TelemetryService>('telemetry');

/** A rollout's devices (one wave, or all); undefined when the rollout is unknown. */
export interface RolloutCohorts {
  cohort(rolloutId: string, wave?: number): Promise<readonly string[] | undefined>;
}

/** Published by the rollout plugin: who is in a rollout, for telemetry's `?rolloutId=` queries. */
export const ROLLOUT_COHORTS = serviceKey<RolloutCohorts>('rollout-cohorts');
