import { z } from 'zod';
import { deviceIdSchema, executionProviderSchema } from '../contract/common.js';
import { logLevelSchema } from '../contract/command.js';

/**
 * The agent's configuration (`edgefleet-agent --config FILE`, `EDGEFLEET_AGENT_*` env, flags).
 * Unknown keys are rejected: a typo in a device's config must fail loudly, not be ignored.
 * Durations carry their unit in the name.
 */
export const agentConfigSchema = z
  .object({
    deviceId: deviceIdSchema,
    /** Directory for state.db, models/ and staging/. @default /var/lib/edgefleet-agent */
    dataDir: z.string().min(1).default('/var/lib/edgefleet-agent'),
    broker: z
      .object({
        /** mqtt://, mqtts://, ws:// or wss:// URL. */
        url: z.string().regex(/^(mqtts?|wss?):\/\//, 'broker.url must start with mqtt://, mqtts://, ws:// or wss://'),
        /** @default deviceId */
        username: z.string().optional(),
        password: z.string().optional(),
        /** CA bundle for mqtts:// with a private CA. */
        caFile: z.string().optional(),
        keepaliveSec: z.number().int().positive().default(30),
        reconnectMinMs: z.number().int().positive().default(500),
        reconnectMaxMs: z.number().int().positive().default(30_000),
      })
      .strict(),
    /**
     * Zero-touch provisioning: an agent whose data dir holds no identity enrols with this key at the
     * control plane and is never handed a secret (docs/operations.md, "Provisioning a fleet").
     */
    provisioning: z
      .object({
        /** The control plane's HTTP(S) base URL. */
        serverUrl: z.string().regex(/^https?:\/\//, 'provisioning.serverUrl must start with http:// or https://'),
        key: z.string().min(1),
        /** How the device id is made when no --device-id / EDGEFLEET_AGENT_DEVICE_ID is given: `cam-{machine-id:8}`, `{hostname}`, `jetson-{serial}`. @default {machine-id} */
        deviceIdTemplate: z.string().min(1).default('{machine-id}'),
        /** CA bundle for an https:// serverUrl with a private CA. */
        caFile: z.string().optional(),
      })
      .strict()
      .optional(),
    /**
     * Set by enrolment (not by hand): the device's own Ed25519 key; the broker and HTTP passwords are
     * short-lived tokens signed by it instead of a stored secret.
     */
    identity: z
      .object({
        keyFile: z.string().min(1),
        /** Lifetime of each token, at most what the control plane accepts. @default 600 */
        tokenLifetimeS: z.number().int().positive().default(600),
      })
      .strict()
      .optional(),
    /** The fleet's Ed25519 public key (SPKI PEM); every artifact signature is verified against it. */
    fleetPublicKey: z.string().includes('BEGIN PUBLIC KEY', { message: 'fleetPublicKey must be an SPKI PEM public key' }),
    api: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8501),
        /** Largest request body the local API accepts. @default 64 MiB */
        maxBodyBytes: z.number().int().positive().default(64 * 1024 * 1024),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8501, maxBodyBytes: 64 * 1024 * 1024 }),
    logLevel: logLevelSchema.default('info'),
    /** SIGTERM → stop intake and drain for at most this long. @default 10000 */
    drainDeadlineMs: z.number().int().positive().default(10_000),
    delivery: z
      .object({
        /** Bytes per MQTT chunk request (≤ 256 KiB). */
        chunkBytes: z.number().int().positive().max(256 * 1024).default(256 * 1024),
        /** Chunk requests in flight at once. */
        window: z.number().int().positive().max(64).default(8),
        chunkTimeoutMs: z.number().int().positive().default(15_000),
        /** Free disk that must remain after a download. @default 64 MiB */
        diskMarginBytes: z.number().int().nonnegative().default(64 * 1024 * 1024),
        /** Versions kept per model besides the active and previous ones. */
        keepExtraVersions: z.number().int().nonnegative().default(0),
        /** Origins (scheme://host:port) of artifact URLs that get the device id and secret as HTTP Basic auth. @default [] */
        httpCredentialOrigins: z.array(z.string().url()).default([]),
      })
      .strict()
      .default({ chunkBytes: 256 * 1024, window: 8, chunkTimeoutMs: 15_000, diskMarginBytes: 64 * 1024 * 1024, keepExtraVersions: 0, httpCredentialOrigins: [] }),
    inference: z
      .object({
        /** Intra-op threads; default from physical cores. */
        intraOpThreads: z.number().int().positive().optional(),
        /** Memory arena; default off on devices with under 2 GiB of memory. */
        cpuMemArena: z.boolean().optional(),
        graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
        /**
         * Let onnxruntime's pool threads busy-wait for work between and after parallel sections:
         * faster runs, paid in CPU time the rest of the device (and the agent's own event loop) does
         * not get. Off by default; see docs/operations.md "Inference threads".
         */
        allowSpinning: z.boolean().default(false),
        /** Requests waiting per model version before 429. */
        queueDepth: z.number().int().positive().default(64),
        /** Per-request deadline. */
        requestTimeoutMs: z.number().int().positive().default(30_000),
        /** Total time the EP benchmark at activation may take. */
        epBenchmarkBudgetMs: z.number().int().positive().default(10_000),
        /** Per-candidate session creation timeout. */
        epStartTimeoutMs: z.number().int().positive().default(60_000),
        /** Device-wide EP allow/deny, merged with the desired state's pins/forbids. */
        forbidEps: z.array(executionProviderSchema).default([]),
        /**
         * Port of the gRPC listener (KServe v2 / Triton and TF Serving services), on `api.host`;
         * 0 disables it. @default 8500 (TF Serving's gRPC port)
         */
        grpcPort: z.number().int().min(0).max(65535).default(8500),
      })
      .strict()
      .default({ graphOptimizationLevel: 'all', allowSpinning: false, queueDepth: 64, requestTimeoutMs: 30_000, epBenchmarkBudgetMs: 10_000, epStartTimeoutMs: 60_000, forbidEps: [], grpcPort: 8500 }),
    telemetry: z
      .object({
        /** node-cron expression for collection. @default every 30 s */
        schedule: z.string().default('*/30 * * * * *'),
        /** Outbox cap in batches; beyond it the oldest low-priority batches are dropped (and counted). */
        outboxMaxBatches: z.number().int().positive().default(10_000),
        /** Telemetry batches published at once, and so at most this many unacknowledged (`outbox.window` caps it too). */
        flushBatchLimit: z.number().int().positive().default(100),
        /** Optional byte budget per hour for metered links; 0 = unlimited. */
        budgetBytesPerHour: z.number().int().nonnegative().default(0),
      })
      .strict()
      .default({ schedule: '*/30 * * * * *', outboxMaxBatches: 10_000, flushBatchLimit: 100, budgetBytesPerHour: 0 }),
    /** Delivery of the durable outbox (deployment events, telemetry), acknowledged end to end by the control plane. */
    outbox: z
      .object({
        /** A message published but not acknowledged by the control plane within this time is sent again. @default 10000 */
        ackTimeoutMs: z.number().int().positive().default(10_000),
        /** Messages per stream (events, telemetry) published and not yet acknowledged, so a backlog drains in order without flooding. @default 64 */
        window: z.number().int().positive().max(1000).default(64),
      })
      .strict()
      .default({ ackTimeoutMs: 10_000, window: 64 }),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

/**
 * A config before the device has an identity, as an image for zero-touch provisioning carries it:
 * no device id or broker needed when `provisioning` is set (the agent enrols on first start and
 * fills them in). The agent and the installer's config check both parse with it first.
 */
export const agentBootstrapConfigSchema = agentConfigSchema.extend({
  deviceId: deviceIdSchema.optional(),
  broker: agentConfigSchema.shape.broker.partial({ url: true }).optional(),
});
export type AgentBootstrapConfig = z.output<typeof agentBootstrapConfigSchema>;
