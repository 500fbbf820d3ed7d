import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { freePort } from './ports.js';

export interface TestBroker {
  url: string;
  port: number;
  /** Closes the listener and every client connection (a broker outage). */
  stop(): Promise<void>;
  /** Starts a fresh broker on the same port (in-memory persistence: sessions are gone, as after a crash). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A plain embedded aedes broker on a free loopback port (no auth: agent tests don't need C's). */
export async function startAedesBroker(port?: number): Promise<TestBroker> {
  const p = port ?? (await freePort());
  let broker: Aedes | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  async function start(): Promise<void> {
    broker = await Aedes.createBroker();
    const b = broker;
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      b.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(p, '127.0.0.1', () => resolve());
    });
  }
  async function stop(): Promise<void> {
    const s = server;
    const b = broker;
    server = undefined;
    broker = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    if (b) await new Promise<void>((resolve) => b.close(() => resolve()));
  }
  await start();
  return { url: `mqtt://127.0.0.1:${p}`, port: p, stop, restart: start, close: stop };
}
