import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { patientNumberOf } from '@medical/contracts';
import { databaseEngines } from '../../../packages/platform/test/helpers.ts';
import type { Patient } from '../src/domain/patient.ts';
import { migrations } from '../src/db/migrations.ts';
import { savePatient, searchPatients } from '../src/db/patients.ts';
import type { ReceptionDatabase } from '../src/db/schema.ts';

/**
 * The registry's search on both databases: each form of the desk's query finds what it should
 * among a few thousand patients, and on PostgreSQL each is served by an index (a match from the
 * start of an indexed key), so a hospital's million patients are not read to find one.
 */

const SURNAMES = ['김', '이', '박', '최', '정', '강', '조', '윤', '장', '임'];
const GIVEN = ['민지', '서연', '하준', '지우', '도윤', '서준', '하은', '예준', '수아', '지호'];
const T = '2026-01-01T00:00:00.000Z';

function patientAt(serial: number): Patient {
  const name = `${SURNAMES[serial % 10]}${GIVEN[Math.floor(serial / 10) % 10]}`;
  const month = String(1 + (serial % 12)).padStart(2, '0');
  const day = String(1 + (serial % 28)).padStart(2, '0');
  return {
    patientId: patientNumberOf(serial),
    name: serial === 1 ? 'Kim Minji' : name,
    birthDate: `19${50 + (serial % 50)}-${month}-${day}`,
    sex: serial % 2 === 0 ? 'female' : 'male',
    phone: `010-${String(1000 + (serial % 9000)).padStart(4, '0')}-${String(serial).padStart(4, '0')}`,
    status: serial === 2 ? 'MERGED' : 'ACTIVE',
    ...(serial === 2 ? { mergedInto: patientNumberOf(3) } : {}),
    possibleDuplicates: serial === 4 ? [patientNumberOf(5)] : [],
    createdAt: T,
    updatedAt: T,
  };
}

const COUNT = 3000;

for (const engine of databaseEngines<ReceptionDatabase>('registry-search', { name: 'reception', migrations, idSequences: ['receptions', 'patients'] })) {
  describe(`the registry's search (${engine.name})`, { skip: engine.skip }, () => {
    test('every form of the query finds its patients; a merged one only by its own number', async (t) => {
      const database = await engine.open(t);
      await database.transaction(async (trx) => {
        for (let serial = 1; serial <= COUNT; serial++) await savePatient(trx, patientAt(serial));
      });
      const ids = async (search: Parameters<typeof searchPatients>[1]) => (await searchPatients(database.db, { size: 100, ...search })).items.map((p) => p.patientId);
      const total = async (search: Parameters<typeof searchPatients>[1]) => (await searchPatients(database.db, search)).total;

      assert.deepEqual(await ids({ q: patientNumberOf(1234) }), [patientNumberOf(1234)], 'a whole number');
      assert.equal(await total({ q: patientNumberOf(1234).slice(0, 6) }), 10, 'the first six digits: ten numbers');
      assert.deepEqual(await ids({ q: '1234' }).then((found) => found.includes(patientNumberOf(1234))), true, "a phone's last four digits");
      assert.deepEqual(await ids({ q: '010-2234-1234' }), [patientNumberOf(1234)], 'a whole phone number');
      // 김민지 is every hundredth serial (surname 0, given name 0); 강민지 too has the initials ㄱㅁㅈ (surname 5).
      const serials = Array.from({ length: COUNT }, (_, i) => i + 1).filter((s) => s !== 2);
      const named = (surname: number) => serials.filter((s) => s % 10 === surname && Math.floor(s / 10) % 10 === 0).length;
      assert.equal(await total({ q: '김민지' }), named(0));
      assert.equal(await total({ q: '김민' }), named(0), 'by the first letters');
      assert.equal(await total({ q: 'ㄱㅁㅈ' }), named(0) + named(5), 'by initial consonants: 김민지 and 강민지');
      assert.deepEqual(await ids({ q: 'kim m' }), [patientNumberOf(1)], 'a Latin name, whatever its case and spaces');
      assert.deepEqual(await ids({ q: '1987.4.13', birthDate: undefined }).then((found) => found.every((id) => patientAt(Number(id.slice(0, 7))).birthDate === '1987-04-13')), true);
      assert.deepEqual(await ids({ q: patientNumberOf(2) }), [patientNumberOf(2)], 'a merged patient by its own number');
      assert.ok(!(await ids({ q: patientNumberOf(2).slice(0, 7) })).includes(patientNumberOf(2)), 'never by the first digits');
      assert.deepEqual(await ids({ possibleDuplicate: true }), [patientNumberOf(4)], 'the look-alikes to review');
      assert.equal(await total({ q: 'ㄱ%' }), await total({ q: 'ㄱ' }), "LIKE's wildcards are no wildcards");
    });

    test('on PostgreSQL, each form of the query can be served by an index', { skip: engine.name !== 'PostgreSQL' && 'PostgreSQL only' }, async (t) => {
      const database = await engine.open(t);
      await database.transaction(async (trx) => {
        for (let serial = 1; serial <= 200; serial++) await savePatient(trx, patientAt(serial));
      });
      const predicates: Array<[string, string]> = [
        ['patients_name_key_prefix', "name_key like '김민%'"],
        ['patients_initials_prefix', "initials like 'ㄱㅁ%'"],
        ['patients_patient_id_prefix', "patient_id like '000012%'"],
        ['patients_phone_digits_reversed_prefix', "phone_digits_reversed like '4321%'"],
        ['patients_birth_date', "birth_date = '1987-04-13'"],
      ];
      for (const [index, predicate] of predicates) {
        const plan = await database.transaction(async (trx) => {
          // Not whether the planner prefers it on 200 rows, but whether the index can answer at all.
          await sql`set local enable_seqscan = off`.execute(trx);
          return (await sql<{ 'QUERY PLAN': string }>`explain select patient_id from patients where ${sql.raw(predicate)}`.execute(trx)).rows.map((row) => row['QUERY PLAN']).join('\n');
        });
        assert.match(plan, new RegExp(index), `${predicate}:\n${plan}`);
      }
    });
  });
}
