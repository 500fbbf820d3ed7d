import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Readable } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { EdgefleetError } from '@edgefleet/shared';
import type { Logger } from 'pino';
import type { BrokerAuth, BrokerPrincipal } from './broker-auth.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  tls?: { port: number; certFile: string; keyFile: string } | undefined;
  auth: BrokerAuth;
  logger: Logger;
}

export interface EmbeddedBroker {
  readonly port: number;
  readonly tlsPort: number | undefined;
  connectedClients(): number;
  /**
   * Publishes from inside this process: no socket write to the broker and no MQTT parse. Resolves
   * once every subscriber's socket has taken the packet (aedes waits for a full socket to drain),
   * so a caller that awaits it holds the payload no longer than a PUBACK wait would.
   */
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The part of aedes' persistence that serves retained messages to a new subscription. */
interface RetainedPersistence {
  storeRetained(packet: { topic: string; payload: Buffer }): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/**
 * aedes' memory persistence finds the retained messages for a SUBSCRIBE by testing every retained
 * topic against each filter, so a connect storm costs O(devices²): 11 % of the control plane's CPU
 * for 1,000 devices and minutes of it for 10,000 (issue 10). Devices subscribe to exact topics, so
 * those are answered from a topic index; a filter with a wildcard still takes the full scan.
 */
function indexExactRetained(persistence: RetainedPersistence): void {
  const exact = new Map<string, { topic: string; payload: Buffer }>();
  const store = persistence.storeRetained.bind(persistence);
  const scan = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.storeRetained = async (packet) => {
    if (packet.payload.length === 0) exact.delete(packet.topic);
    else exact.set(packet.topic, { ...packet });
    await store(packet);
  };
  persistence.createRetainedStreamCombi = (patterns) => {
    if (patterns.some((p) => p.includes('+') || p.includes('#'))) return scan(patterns);
    return Readable.from(patterns.flatMap((p) => exact.get(p) ?? []));
  };
}

/** aedes with every connection authenticated and every publish/subscribe checked by BrokerAuth. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { auth, logger } = options;
  const principals = new WeakMap<Client, BrokerPrincipal>();
  const broker = await Aedes.createBroker({
    // mqemitter's queue (used once more than `concurrency` messages are in flight) drains by
    // synchronous recursion and overflowed the stack with ~1,000 devices publishing at once.
    // 0 disables that queue; flow control stays with each connection's TCP backpressure.
    concurrency: 0,
    authenticate(client, username, password, done) {
      auth.authenticate(client.id, username, password).then(
        (principal) => {
          if (principal) {
            principals.set(client, principal);
            done(null, true);
          } else {
            const err: AuthenticateError = Object.assign(new Error('bad username or password'), { returnCode: 4 });
            done(err, false);
          }
        },
        (cause: unknown) => {
          logger.error({ err: cause, clientId: client.id }, 'MQTT authentication failed with an error');
          const err: AuthenticateError = Object.assign(new Error('server unavailable'), { returnCode: 3 });
          done(err, false);
        },
      );
    },
    authorizePublish(client, packet, done) {
      // client is null for messages the broker itself publishes (none here besides $SYS).
      const principal = client ? principals.get(client) : undefined;
      if (client === null) return done(null);
      if (principal && auth.mayPublish(principal, packet.topic)) return done(null);
      done(new EdgefleetError('FORBIDDEN', `publish to ${packet.topic} not allowed`));
    },
    authorizeSubscribe(client, subscription, done) {
      const principal = principals.get(client);
      if (principal && auth.maySubscribe(principal, subscription.topic)) return done(null, subscription);
      // null → SUBACK 0x80 for this filter; the connection stays up.
      done(null, null);
    },
  });
  indexExactRetained((broker as unknown as { persistence: RetainedPersistence }).persistence);
  broker.on('clientError', (client, err) => logger.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));

  const servers: Server[] = [];
  try {
    // TCP_NODELAY: a small packet (a chunk request, a PUBACK) written right after another waited
    // for the peer's delayed ACK (Nagle), 40 ms per artifact chunk round trip on Linux.
    const plain = createServer({ noDelay: true }, (socket) => broker.handle(socket));
    servers.push(plain);
    const port = await listen(plain, options.port, options.host);
    let tlsPort: number | undefined;
    if (options.tls) {
      const [cert, key] = await Promise.all([readFile(options.tls.certFile), readFile(options.tls.keyFile)]).catch((cause: unknown) => {
        throw new EdgefleetError('CONFIG_INVALID', `cannot read the MQTT TLS certificate or key (${options.tls?.certFile}, ${options.tls?.keyFile})`, { cause });
      });
      const secure = createTlsServer({ cert, key, noDelay: true }, (socket) => broker.handle(socket));
      servers.push(secure);
      tlsPort = await listen(secure, options.tls.port, options.host);
    }
    logger.info({ port, tlsPort }, 'embedded MQTT broker listening');
    return {
      port,
      tlsPort,
      connectedClients: () => broker.connectedClients,
      publish: (topic, payload, qos) =>
        new Promise<void>((resolve, reject) => {
          broker.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) => (err ? reject(err) : resolve()));
        }),
      async close() {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await Promise.all(servers.map(close));
      },
    };
  } catch (err) {
    await Promise.all(servers.map(close));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err instanceof EdgefleetError ? err : new EdgefleetError('BROKER_UNREACHABLE', `embedded broker could not listen on ${options.host}:${options.port}`, { cause: err });
  }
}
