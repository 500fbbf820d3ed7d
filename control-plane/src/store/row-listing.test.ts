import { describe, expect, it } from 'vitest';
import { createRowListing } from './row-listing.js';

interface Row {
  id: string;
  wave: number;
  value: string;
}

/** A stand-in table: the listing must always equal a sorted read of it. */
function table(initial: Row[]) {
  const rows = new Map(initial.map((r) => [r.id, { ...r }]));
  const compare = (a: Row, b: Row): number => a.wave - b.wave || a.id.localeCompare(b.id);
  let reads = 0;
  const listing = createRowListing<Row>({
    loadAll: async () => [...rows.values()].map((r) => ({ ...r })).sort(compare),
    loadSome: async (ids) => {
      reads += ids.length;
      return ids.flatMap((id) => (rows.has(id) ? [{ ...rows.get(id)! }] : []));
    },
    keyOf: (r) => r.id,
    compare,
  });
  const write = (row: Row): void => {
    rows.set(row.id, row);
    listing.touched(row.id);
  };
  const remove = (id: string): void => {
    rows.delete(id);
    listing.touched(id);
  };
  return { listing, write, remove, truth: () => [...rows.values()].sort(compare), reads: () => reads };
}

describe('row listing', () => {
  it('re-reads only the rows touched since the last list', async () => {
    const t = table([{ id: 'a', wave: 0, value: '1' }, { id: 'b', wave: 0, value: '1' }, { id: 'c', wave: 1, value: '1' }]);
    expect(await t.listing.list()).toEqual(t.truth());
    t.write({ id: 'b', wave: 0, value: '2' });
    expect(await t.listing.list()).toEqual(t.truth());
    expect(t.reads()).toBe(1);
    expect(await t.listing.list()).toEqual(t.truth());
    expect(t.reads()).toBe(1);
  });

  it('follows inserts, removals and sort-key changes', async () => {
    const t = table([{ id: 'a', wave: 0, value: '1' }, { id: 'b', wave: 1, value: '1' }]);
    await t.listing.list();
    t.write({ id: 'c', wave: 0, value: '1' });
    t.remove('a');
    t.write({ id: 'b', wave: 0, value: '2' });
    expect(await t.listing.list()).toEqual(t.truth());
    expect((await t.listing.list()).map((r) => r.id)).toEqual(['b', 'c']);
  });

  it('returns a fresh array each time', async () => {
    const t = table([{ id: 'a', wave: 0, value: '1' }]);
    const first = await t.listing.list();
    first.pop();
    expect(await t.listing.list()).toHaveLength(1);
  });
});
