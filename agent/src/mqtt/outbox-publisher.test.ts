import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { migrate } from '../store/migrations.js';
import { createSqliteOutbox, type Outbox } from '../store/outbox.js';
import { createOutboxPublisher } from './outbox-publisher.js';
import type { MqttSession } from './session.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function realOutbox(): Outbox {
  const dir = mkdtempSync(join(tmpdir(), 'agent-outbox-pub-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'state.db'));
  migrate(db);
  return createSqliteOutbox(db);
}

/** The publisher only needs publish/onConnect/connected; PUBACK resolves at once here. */
function ackingSession(published: number[]): MqttSession {
  return {
    connected: true,
    dropped: 0,
    on: () => undefined,
    onConnect: () => undefined,
    onDisconnect: () => undefined,
    publish: async (_channel, payload) => {
      published.push(Number(payload.toString()));
    },
    start: () => undefined,
    close: async () => undefined,
  };
}

const quiet = pino({ level: 'silent' });

describe('outbox publisher', () => {
  it('deletes entries only after PUBACK', async () => {
    const outbox = realOutbox();
    for (let i = 0; i < 3; i++) outbox.enqueue('event', 'events', (seq) => Buffer.from(String(seq)));
    const published: number[] = [];
    const publisher = createOutboxPublisher({ outbox, session: ackingSession(published), logger: quiet });
    publisher.flush();
    expect(await publisher.drained(2000)).toBe(true);
    expect(published).toEqual([1, 2, 3]);
  });

  it('survives a store that cannot write the ack (disk full): the entry stays and is sent again', async () => {
    const real = realOutbox();
    let failAcks = 1;
    const outbox: Outbox = {
      ...real,
      ack(seq) {
        if (failAcks-- > 0) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        real.ack(seq);
      },
    };
    outbox.enqueue('event', 'events', (seq) => Buffer.from(String(seq)));
    const published: number[] = [];
    const publisher = createOutboxPublisher({ outbox, session: ackingSession(published), logger: quiet });
    publisher.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(real.size()).toBe(1);
    publisher.flush();
    expect(await publisher.drained(2000)).toBe(true);
    expect(published).toEqual([1, 1]);
  });

  it('survives a store that cannot be read', async () => {
    const real = realOutbox();
    const outbox: Outbox = { ...real, peek: () => { throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }); } };
    const publisher = createOutboxPublisher({ outbox, session: ackingSession([]), logger: quiet });
    publisher.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(real.size()).toBe(0);
  });
});
