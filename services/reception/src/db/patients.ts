import { sql, type Kysely, type Transaction } from 'kysely';
import { fetchPage, forUpdate, isPostgres, type PageRequest } from '@medical/platform';
import { initialsOf, isInitialsSearch, nameKeyOf, phoneDigitsOf, type PageOf } from '@medical/contracts';
import type { Person, Patient } from '../domain/patient.ts';
import type { PatientRow, ReceptionDatabase } from './schema.ts';

type Db = Kysely<ReceptionDatabase> | Transaction<ReceptionDatabase>;

function toRow(patient: Patient): PatientRow {
  return {
    patient_id: patient.patientId,
    name: patient.name,
    name_key: nameKeyOf(patient.name),
    initials: initialsOf(patient.name),
    birth_date: patient.birthDate ?? null,
    sex: patient.sex,
    phone: patient.phone ?? null,
    phone_digits: patient.phone === undefined ? null : phoneDigitsOf(patient.phone),
    phone_digits_reversed: patient.phone === undefined ? null : reversed(phoneDigitsOf(patient.phone)),
    status: patient.status,
    merged_into: patient.mergedInto ?? null,
    possible_duplicates: JSON.stringify(patient.possibleDuplicates),
    created_at: patient.createdAt,
    updated_at: patient.updatedAt,
  };
}

function fromRow(row: PatientRow): Patient {
  return {
    patientId: row.patient_id,
    name: row.name,
    ...(row.birth_date !== null ? { birthDate: row.birth_date } : {}),
    sex: row.sex,
    ...(row.phone !== null ? { phone: row.phone } : {}),
    status: row.status,
    ...(row.merged_into !== null ? { mergedInto: row.merged_into } : {}),
    possibleDuplicates: JSON.parse(row.possible_duplicates) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** One patient, locked for a change when `db` is a transaction; null when the number names no one. */
export async function loadPatient(db: Db, patientId: string): Promise<Patient | null> {
  const row = await forUpdate(db.selectFrom('patients').selectAll().where('patient_id', '=', patientId), db).executeTakeFirst();
  return row ? fromRow(row) : null;
}

export async function savePatient(db: Db, patient: Patient): Promise<void> {
  const { patient_id: _id, ...changes } = toRow(patient);
  await db
    .insertInto('patients')
    .values(toRow(patient))
    .onConflict((oc) => oc.column('patient_id').doUpdateSet(changes))
    .execute();
}

/**
 * Holds, to the end of the transaction, the registrations of anyone who could look like `person`:
 * on PostgreSQL a transaction-level advisory lock per key the look-alike rule compares (the name,
 * the birth date, the phone), taken in one order, so two desks registering the same person at the
 * same moment on two replicas do not both find nobody; the second waits, then finds the first.
 * SQLite runs one write transaction at a time already.
 */
export async function holdLookalikes(trx: Transaction<ReceptionDatabase>, person: Person): Promise<void> {
  if (!isPostgres(trx)) return;
  const keys = [`name:${nameKeyOf(person.name)}`, ...(person.birthDate !== undefined ? [`birth:${person.birthDate}`] : []), ...(person.phone !== undefined ? [`phone:${phoneDigitsOf(person.phone)}`] : [])].sort();
  for (const key of keys) await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ${`:patients:${key}`}))`.execute(trx);
}

/** The registered patients that share a birth date or a phone with `person`, among whom lookalikesOf finds the look-alikes. */
export async function patientsLike(db: Db, person: Person): Promise<Patient[]> {
  const phone = person.phone === undefined ? '' : phoneDigitsOf(person.phone);
  const rows = await db
    .selectFrom('patients')
    .selectAll()
    .where('status', '=', 'ACTIVE')
    .where((eb) =>
      eb.or([
        ...(person.birthDate !== undefined ? [eb('birth_date', '=', person.birthDate)] : []),
        ...(phone !== '' ? [eb('phone_digits', '=', phone)] : []),
        eb('name_key', '=', nameKeyOf(person.name)),
      ]),
    )
    .orderBy('patient_id')
    .limit(200)
    .execute();
  return rows.map(fromRow);
}

const reversed = (text: string) => [...text].reverse().join('');

/**
 * `text` without LIKE's wildcards, to match from the start of a key: no name, number or phone has
 * them, and SQLite's LIKE has no escape character unless told one.
 */
const literal = (text: string) => text.replace(/[\\%_]/g, '');

/** A birth date as the desk types it: 1987-04-12, 1987.4.12, 1987/04/12 or 19870412; undefined when `text` is none. */
export function birthDateIn(text: string): string | undefined {
  const match = /^(\d{4})[-./]?(\d{1,2})[-./]?(\d{1,2})$/.exec(text.trim());
  if (!match || (!/[-./]/.test(text) && text.trim().length !== 8)) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date.toISOString().slice(0, 10);
}

export type PatientSearch = PageRequest & { q?: string; birthDate?: string; possibleDuplicate?: boolean };

/**
 * The registry's search. `q` is read by its form: digits are a patient number's first digits or a
 * phone's last ones (the desk asks for "the last four"); initial consonants (ㄱㅁㅈ) match a name's
 * initials from the first; anything else matches a name from its first letters, or a patient id
 * exactly (one carried over from before the registry, `P-1001`). Every match is from the start of
 * an indexed key, so a search reads the index, not the table. Merged patients show only when their
 * own number is asked for: they are pointers to the patient kept.
 */
export async function searchPatients(db: Db, search: PatientSearch): Promise<PageOf<Patient>> {
  let query = db.selectFrom('patients');
  const q = search.q?.trim();
  if (q) {
    const digits = q.replace(/[\s-]/g, '');
    const birthDate = birthDateIn(q);
    if (birthDate !== undefined && /[./]|^\d{4}-\d{1,2}-\d{1,2}$/.test(q)) {
      query = query.where('status', '=', 'ACTIVE').where('birth_date', '=', birthDate);
    } else if (/^[0-9]+$/.test(digits)) {
      // Eight digits may be a patient number or a birth date (19870412): either.
      query = query.where((eb) =>
        eb.or([
          eb('patient_id', '=', digits),
          eb.and([
            eb('status', '=', 'ACTIVE'),
            eb.or([
              eb('patient_id', 'like', `${digits}%`),
              eb('phone_digits_reversed', 'like', `${reversed(digits)}%`),
              ...(birthDate !== undefined ? [eb('birth_date', '=', birthDate)] : []),
            ]),
          ]),
        ]),
      );
    } else if (isInitialsSearch(q)) {
      query = query.where('status', '=', 'ACTIVE').where('initials', 'like', `${literal(nameKeyOf(q))}%`);
    } else {
      query = query.where((eb) => eb.or([eb('patient_id', '=', q), eb.and([eb('status', '=', 'ACTIVE'), eb('name_key', 'like', `${literal(nameKeyOf(q))}%`)])]));
    }
  } else {
    query = query.where('status', '=', 'ACTIVE');
  }
  if (search.birthDate) query = query.where('birth_date', '=', search.birthDate);
  if (search.possibleDuplicate) query = query.where('possible_duplicates', '<>', '[]');
  const found = await fetchPage(db, search, {
    rows: query.selectAll(),
    orderBy: ['name_key', 'patient_id'],
    total: query.select((eb) => eb.fn.countAll<number>().as('total')),
  });
  return { ...found, items: found.items.map(fromRow) };
}

/** The ids of a patient's visits, each locked, to be moved to another patient. */
export async function visitsOfPatient(trx: Transaction<ReceptionDatabase>, patientId: string): Promise<number[]> {
  const rows = await forUpdate(trx.selectFrom('receptions').select('id').where('patient_id', '=', patientId).orderBy('id'), trx).execute();
  return rows.map((row) => row.id);
}
