import type Database from 'better-sqlite3';

/**
 * A durable queue of messages to publish at QoS 1: written with synchronous=FULL before anything
 * is sent, removed only when the control plane acknowledges the seq end to end (`removeAcked`, issue
 * 10; a broker's PUBACK is not enough). Deployment events and telemetry share it (`kind` separates
 * the streams, so each may cap or prioritise its own).
 */
export interface OutboxEntry {
  seq: number;
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  kind: string;
}

export interface Outbox {
  /** Appends a message; `build` receives the entry's seq (monotonic across restarts) and returns the payload. */
  enqueue(kind: string, topic: string, build: (seq: number) => Buffer, qos?: 0 | 1): number;
  /** Oldest first. */
  peek(limit: number, kind?: string): OutboxEntry[];
  /** Deletes one entry, whatever its state (the telemetry cap; transports without end-to-end acks). */
  ack(seq: number): void;
  /** Deletes the entries among `seqs` whose topic is `topic`; returns the seqs deleted, so unknown ones are ignored. */
  removeAcked(topic: string, seqs: readonly number[]): number[];
  size(kind?: string): number;
}

interface Row {
  seq: number;
  topic: string;
  payload: Buffer;
  qos: number;
  kind: string;
}

export function createSqliteOutbox(db: Database.Database): Outbox {
  const insert = db.prepare('INSERT INTO outbox (topic, payload, qos, kind, created_at) VALUES (?, ?, ?, ?, ?)');
  const setPayload = db.prepare('UPDATE outbox SET payload = ? WHERE seq = ?');
  const peekAll = db.prepare('SELECT seq, topic, payload, qos, kind FROM outbox ORDER BY seq LIMIT ?');
  const peekKind = db.prepare('SELECT seq, topic, payload, qos, kind FROM outbox WHERE kind = ? ORDER BY seq LIMIT ?');
  const del = db.prepare('DELETE FROM outbox WHERE seq = ?');
  const delOnTopic = db.prepare('DELETE FROM outbox WHERE seq = ? AND topic = ?');
  const countAll = db.prepare('SELECT COUNT(*) AS n FROM outbox');
  const countKind = db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE kind = ?');
  const toEntry = (r: Row): OutboxEntry => ({ seq: r.seq, topic: r.topic, payload: r.payload, qos: r.qos === 0 ? 0 : 1, kind: r.kind });

  const enqueueTx = db.transaction((kind: string, topic: string, build: (seq: number) => Buffer, qos: 0 | 1): number => {
    const seq = Number(insert.run(topic, Buffer.alloc(0), qos, kind, new Date().toISOString()).lastInsertRowid);
    setPayload.run(build(seq), seq);
    return seq;
  });

  const removeAckedTx = db.transaction((topic: string, seqs: readonly number[]): number[] => seqs.filter((seq) => delOnTopic.run(seq, topic).changes > 0));

  return {
    enqueue: (kind, topic, build, qos = 1) => enqueueTx(kind, topic, build, qos),
    removeAcked: (topic, seqs) => removeAckedTx(topic, seqs),
    peek: (limit, kind) => (kind === undefined ? (peekAll.all(limit) as Row[]) : (peekKind.all(kind, limit) as Row[])).map(toEntry),
    ack: (seq) => void del.run(seq),
    size: (kind) => (kind === undefined ? (countAll.get() as { n: number }).n : (countKind.get(kind) as { n: number }).n),
  };
}
