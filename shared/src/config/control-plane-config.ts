import { z } from 'zod';
import { logLevelSchema } from '../contract/command.js';

/** A token bucket: `capacity` at once, then `perSecond`. */
const rateLimitSchema = (capacity: number, perSecond: number) =>
  z.object({ capacity: z.number().int().positive().default(capacity), perSecond: z.number().positive().default(perSecond) }).strict().default({ capacity, perSecond });

/**
 * The control plane's configuration (`edgefleet server`, `EDGEFLEET_*` env, flags).
 * Unknown keys are rejected.
 */
export const controlPlaneConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    http: z
      .object({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) })
      .strict()
      .default({ host: '0.0.0.0', port: 8080 }),
    mqtt: z
      .object({
        /** External broker URL; when absent the embedded aedes broker runs. */
        url: z.string().regex(/^(mqtts?|wss?):\/\//).optional(),
        /** Embedded broker listen port. @default 1883 */
        port: z.number().int().min(0).max(65535).default(1883),
        host: z.string().default('0.0.0.0'),
        /** Credentials the control plane uses on an external broker. */
        username: z.string().optional(),
        password: z.string().optional(),
        /** Use `$share/edgefleet/...` subscriptions (external clustered brokers). */
        sharedSubscriptions: z.boolean().default(false),
        /** URL agents should use to reach the broker (written into generated agent configs). */
        publicUrl: z.string().optional(),
        tls: z.object({ port: z.number().int().min(0).max(65535).default(8883), certFile: z.string(), keyFile: z.string() }).strict().optional(),
      })
      .strict()
      .default({ port: 1883, host: '0.0.0.0', sharedSubscriptions: false }),
    store: z
      .object({ driver: z.enum(['sqlite', 'postgres']).default('sqlite'), url: z.string().optional() })
      .strict()
      .default({ driver: 'sqlite' }),
    /** Zero-touch provisioning (docs/operations.md, "Provisioning a fleet"). */
    provisioning: z
      .object({
        /** Enrolments per source address: a burst, then a steady rate. @default 200, 50/s */
        perSource: rateLimitSchema(200, 50),
        /** Enrolments per provisioning key. @default 2000, 500/s */
        perKey: rateLimitSchema(2000, 500),
        /** Longest lifetime of a device-key token the broker accepts. @default 3600 */
        tokenLifetimeS: z.number().int().positive().max(86_400).default(3600),
        /** How far an enrolment proof's time may be from the server's clock. @default 600 */
        proofWindowS: z.number().int().positive().max(86_400).default(600),
        /** What a pending device is told to wait before asking again. @default 15 */
        pendingRetryS: z.number().int().positive().max(3600).default(15),
      })
      .strict()
      .default({ perSource: { capacity: 200, perSecond: 50 }, perKey: { capacity: 2000, perSecond: 500 }, tokenLifetimeS: 3600, proofWindowS: 600, pendingRetryS: 15 }),
    /**
     * The singleton lease (rollout engine, schedules, retention, desired-state republish) that one
     * replica holds in PostgreSQL. A holder renews every ttlMs/3; another replica takes over within
     * ttlMs of the last renewal. On SQLite the only process always leads.
     */
    lease: z
      .object({
        /** @default 10000 */
        ttlMs: z.number().int().min(1000).max(600_000).default(10_000),
        /** This replica's name in the lease, /healthz and /metrics. @default `<hostname>-<pid>` */
        replicaId: z.string().min(1).max(128).optional(),
      })
      .strict()
      .default({ ttlMs: 10_000 }),
    logLevel: logLevelSchema.default('info'),
    drainDeadlineMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type ControlPlaneConfig = z.output<typeof controlPlaneConfigSchema>;
export type ControlPlaneConfigInput = z.input<typeof controlPlaneConfigSchema>;
