import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fetchPage } from '../src/db/paging.ts';
import { databaseKinds, openTestDatabase } from './consumer-databases.ts';

/**
 * fetchPage on both databases: a page and its total from one statement, in the order asked for,
 * a page past the end empty with the total still right, and a total counted elsewhere.
 */
for (const { kind, skip } of databaseKinds) {
  describe(`fetchPage on ${kind}`, { skip }, () => {
    test('pages hold their rows in order, the total is the whole list, a page past the end is empty', async (t) => {
      const database = await openTestDatabase(t, kind, { serviceName: 'paging' });
      const db = database.db;
      // Ordered by count descending, then id: two columns, so the order is not the insertion's.
      const notes = [
        { id: 'a', count: 1 },
        { id: 'b', count: 3 },
        { id: 'c', count: 2 },
        { id: 'd', count: 3 },
        { id: 'e', count: 5 },
      ];
      await db.insertInto('notes').values(notes).execute();
      const list = (page: number, size: number, minimum = 0) => {
        const query = db.selectFrom('notes').where('count', '>=', minimum);
        return fetchPage(db, { page, size }, {
          rows: query.selectAll(),
          orderBy: [['count', 'desc'], 'id'],
          total: query.select((eb) => eb.fn.countAll<number>().as('total')),
        });
      };
      const ids = async (page: number, size: number, minimum?: number) => {
        const found = await list(page, size, minimum);
        return { ids: found.items.map((n) => n.id), total: found.total, page: found.page, size: found.size };
      };
      assert.deepEqual(await ids(0, 2), { ids: ['e', 'b'], total: 5, page: 0, size: 2 });
      assert.deepEqual(await ids(1, 2), { ids: ['d', 'c'], total: 5, page: 1, size: 2 });
      assert.deepEqual(await ids(2, 2), { ids: ['a'], total: 5, page: 2, size: 2 });
      assert.deepEqual(await ids(0, 20), { ids: ['e', 'b', 'd', 'c', 'a'], total: 5, page: 0, size: 20 });
      assert.deepEqual(await ids(0, 20, 3), { ids: ['e', 'b', 'd'], total: 3, page: 0, size: 20 }, 'the total counts the filtered rows');
      assert.deepEqual(await ids(3, 2), { ids: [], total: 5, page: 3, size: 2 }, 'past the end: no items, the total all the same');
      assert.deepEqual(await ids(0, 2, 9), { ids: [], total: 0, page: 0, size: 2 }, 'an empty list');
      const row = (await list(0, 1)).items[0]!;
      assert.deepEqual(Object.keys(row).sort(), ['count', 'id'], 'the rows carry their own columns only');
      assert.equal(typeof row.count, 'number');
    });
  });
}
