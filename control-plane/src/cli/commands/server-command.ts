import type { Command } from 'commander';
import { controlPlaneConfigSchema, loadConfig, type ControlPlaneConfig } from '@edgefleet/shared';

export interface ServerFlags {
  dataDir?: string;
  config?: string;
  httpHost?: string;
  httpPort?: string;
  mqttHost?: string;
  mqttPort?: string;
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  mqttPublicUrl?: string;
  sharedSubscriptions?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsPort?: string;
  store?: string;
  storeUrl?: string;
  leaseTtl?: string;
  replicaId?: string;
  logLevel?: string;
}

const int = (v: string | undefined): number | string | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v);

/** Flags → config: file < EDGEFLEET_CP_* env < flags, validated once by controlPlaneConfigSchema. */
export function serverConfigFromFlags(flags: ServerFlags, env: Record<string, string | undefined> = process.env): Readonly<ControlPlaneConfig> {
  const tls = flags.tlsCert || flags.tlsKey ? { certFile: flags.tlsCert, keyFile: flags.tlsKey, port: int(flags.tlsPort) } : undefined;
  return loadConfig({
    schema: controlPlaneConfigSchema,
    file: flags.config,
    env,
    envPrefix: 'EDGEFLEET_CP_',
    overrides: {
      dataDir: flags.dataDir,
      logLevel: flags.logLevel,
      http: { host: flags.httpHost, port: int(flags.httpPort) },
      mqtt: {
        host: flags.mqttHost,
        port: int(flags.mqttPort),
        url: flags.mqttUrl,
        username: flags.mqttUsername,
        password: flags.mqttPassword,
        publicUrl: flags.mqttPublicUrl,
        sharedSubscriptions: flags.sharedSubscriptions,
        tls,
      },
      store: { driver: flags.store, url: flags.storeUrl },
      lease: { ttlMs: int(flags.leaseTtl), replicaId: flags.replicaId },
    },
  });
}

/** Declares `edgefleet server`; `run` (from main.ts) starts it and owns the signals. */
export function registerServerCommand(program: Command, run: (config: Readonly<ControlPlaneConfig>) => Promise<void>): void {
  program
    .command('server')
    .description('run the control plane: embedded MQTT broker (or --mqtt-url), registries, REST API')
    .option('--data-dir <dir>', 'state directory (SQLite, artifacts, keys, admin.token)')
    .option('--config <file>', 'YAML/JSON config file')
    .option('--http-host <host>', 'REST API host (default 0.0.0.0)')
    .option('--http-port <port>', 'REST API port (default 8080)')
    .option('--mqtt-host <host>', 'embedded broker host (default 0.0.0.0)')
    .option('--mqtt-port <port>', 'embedded broker port (default 1883)')
    .option('--mqtt-url <url>', 'use an external broker (e.g. Mosquitto) instead of the embedded one')
    .option('--mqtt-username <user>', 'control-plane user on the external broker')
    .option('--mqtt-password <password>', 'its password (or EDGEFLEET_CP_MQTT__PASSWORD)')
    .option('--mqtt-public-url <url>', 'broker URL written into generated agent configs')
    .option('--shared-subscriptions', 'subscribe with $share/edgefleet/… (clustered brokers, several replicas)')
    .option('--tls-cert <file>', 'embedded broker TLS certificate (enables the TLS listener)')
    .option('--tls-key <file>', 'embedded broker TLS key')
    .option('--tls-port <port>', 'embedded broker TLS port (default 8883)')
    .option('--store <driver>', 'sqlite (default) or postgres')
    .option('--store-url <url>', 'PostgreSQL URL for --store postgres')
    .option('--lease-ttl <ms>', 'singleton lease TTL on PostgreSQL (default 10000)')
    .option('--replica-id <id>', 'this replica in the lease, /healthz and /metrics (default <hostname>-<pid>)')
    .option('--log-level <level>', 'trace … fatal (default info)')
    .action(async (flags: ServerFlags) => {
      await run(serverConfigFromFlags(flags));
    });
}
