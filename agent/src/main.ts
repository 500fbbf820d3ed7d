import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { toEdgefleetError, type AgentConfig } from '@edgefleet/shared';
import { createAgent, AGENT_VERSION } from './agent.js';
import type { GrpcServer } from './api/grpc/index.js';
import { createApiServer, type ApiServer } from './api/index.js';
import { loadAgentConfigWithIdentity } from './config/index.js';
import { rotateDeviceKey } from './identity/index.js';
import { createNodeHardwarePort, detectHardware } from './hardware/index.js';
import { createInferenceRuntime } from './inference/index.js';
import { createLogger } from './log/index.js';

/**
 * `edgefleet-agent --config FILE [--data-dir DIR] [--api-port N] [--grpc-port N] [--rotate-key]`. The only place that touches
 * process signals and exit codes (docs/architecture.md, "Lifecycle").
 */
function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/** The gRPC listener beside the HTTP API, on the same context (inference.grpcPort; 0: none). */
async function startGrpc(api: ApiServer, config: Readonly<AgentConfig>, logger: ReturnType<typeof createLogger>['logger']): Promise<GrpcServer | undefined> {
  if (config.inference.grpcPort === 0) return undefined;
  // Loaded here, not at the top: @grpc/grpc-js and protobufjs are ~4 MB of heap an agent without gRPC never needs.
  const { createGrpcServer } = await import('./api/grpc/index.js');
  const grpc = createGrpcServer({ context: api.context, host: config.api.host, port: config.inference.grpcPort, logger });
  const { address } = await grpc.listen();
  logger.info({ address }, 'gRPC inference listening');
  return grpc;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('edgefleet-agent')
    .description('edgefleet device agent: converges this device to its desired models and serves them')
    .version(AGENT_VERSION)
    .option('-c, --config <file>', 'YAML or JSON config file')
    .option('--data-dir <dir>', 'state directory (overrides the config)')
    .option('--api-port <port>', 'local inference API port (overrides the config)', parsePort)
    .option('--grpc-port <port>', 'local gRPC inference port, 0 disables it (overrides inference.grpcPort)', parsePort)
    .option('--device-id <id>', 'device id (overrides the config; for a provisioned agent, its id template)')
    .option('--rotate-key', "enrolled device: replace its key at the control plane, signed by the current one, and exit (a running agent uses the new key from its next connect)")
    .parse(argv);
  const flags = program.opts<{ config?: string; dataDir?: string; apiPort?: number; grpcPort?: number; deviceId?: string; rotateKey?: boolean }>();

  // Enrolment of a provisioned agent may wait (for approval, for the server): a signal ends the wait.
  const enrolling = new AbortController();
  const stopEnrolling = (): void => enrolling.abort(new Error('stopped by a signal while enrolling'));
  process.once('SIGTERM', stopEnrolling);
  process.once('SIGINT', stopEnrolling);
  let config;
  try {
    config = await loadAgentConfigWithIdentity(
      { file: flags.config, dataDir: flags.dataDir, apiPort: flags.apiPort, grpcPort: flags.grpcPort, deviceId: flags.deviceId },
      { logger: createLogger({ level: 'info', pretty: process.stdout.isTTY }).logger, signal: enrolling.signal },
    );
  } catch (err) {
    const e = toEdgefleetError(err);
    process.stderr.write(`edgefleet-agent: ${e.code}: ${e.message}\n`);
    process.exitCode = enrolling.signal.aborted ? 0 : 2;
    return;
  } finally {
    process.off('SIGTERM', stopEnrolling);
    process.off('SIGINT', stopEnrolling);
  }
  const log = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY });
  if (flags.rotateKey) {
    try {
      const change = await rotateDeviceKey({ dataDir: config.dataDir, logger: log.logger });
      process.stdout.write(`rotated the key of ${change.deviceId}: ${change.previousFingerprint.slice(0, 16)} -> ${change.fingerprint?.slice(0, 16) ?? '-'}\n`);
    } catch (err) {
      const e = toEdgefleetError(err);
      process.stderr.write(`edgefleet-agent: ${e.code}: ${e.message}\n`);
      process.exitCode = 2;
    }
    return;
  }
  const hardware = await detectHardware(createNodeHardwarePort()).catch((err: unknown) => {
    log.logger.warn({ err }, 'hardware detection failed');
    return undefined;
  });
  const agent = createAgent({
    config,
    log,
    ...(hardware ? { hardware } : {}),
    runtime: async () => {
      if (!hardware) throw toEdgefleetError(new Error('no hardware profile'), 'INTERNAL');
      return createInferenceRuntime({
        hardware,
        config: config.inference,
        epCache: join(config.dataDir, 'ep-choices.json'),
        logger: log.logger.child({ part: 'inference' }),
      });
    },
    api: async (a) => {
      const server = createApiServer({
        runtime: a.parts.runtime,
        // The agent's table: the MQTT infer command counts into the statistics this API serves.
        stats: a.parts.stats,
        logger: log.logger.child({ part: 'api' }),
        host: config.api.host,
        port: config.api.port,
        maxBodyBytes: config.api.maxBodyBytes,
        version: AGENT_VERSION,
      });
      const { url } = await server.listen();
      log.logger.info({ url }, 'local API listening');
      const grpc = await startGrpc(server, config, log.logger.child({ part: 'grpc' }));
      return {
        close: async (deadlineMs) => {
          await Promise.all([server.close(), grpc?.close(deadlineMs)]);
        },
        setReady: (ready) => server.setReady(ready),
      };
    },
  });

  let stopping: Promise<unknown> | undefined;
  const shutdown = (signal: string): void => {
    if (stopping) {
      log.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.logger.info({ signal }, 'stopping');
    stopping = agent.stop().then(({ drained }) => {
      process.exitCode = drained ? 0 : 1;
      // Anything still holding the loop (a stuck socket) must not outlive the drain deadline.
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await agent.start();
  } catch (err) {
    const e = toEdgefleetError(err);
    process.stderr.write(`edgefleet-agent: ${e.code}: ${e.message}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
