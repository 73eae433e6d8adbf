import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { endOfHospitalDay, hospitalDayOf, startOfHospitalDay } from '@medical/platform';
import { matchesFilters, parseSearch, searchableTypes, searchIncludes, searchValuesOf, type SearchableType, type SearchContext } from '../src/fhir/search.ts';
import type { EncounterRecord, TaskRecord } from '../src/fhir/index.ts';

/**
 * The searches (fhir/search.ts): read strictly, a parameter or value this server does not know
 * refused with its name; a date as the hospital's day or as a moment; and matchesFilters, which
 * the subscriptions match changes with, agreeing with those bounds.
 */

const zone = 'Asia/Seoul';
const context: SearchContext = { dayBounds: (day) => ({ start: startOfHospitalDay(day, zone), end: endOfHospitalDay(day, zone) }) };

const parse = (type: SearchableType, query: string, paging = true) => parseSearch(type, new URLSearchParams(query), context, { paging });

function parsed(type: SearchableType, query: string, paging = true) {
  const result = parse(type, query, paging);
  assert.ok(result.ok, `${type}?${query} was refused: ${result.ok ? '' : JSON.stringify(result.issue)}`);
  return result.search;
}

function refused(type: SearchableType, query: string, parameter: string, message: RegExp, paging = true) {
  const result = parse(type, query, paging);
  assert.ok(!result.ok, `${type}?${query} was accepted`);
  assert.equal(result.issue.parameter, parameter, `${type}?${query}`);
  assert.match(result.issue.message, message, `${type}?${query}`);
}

describe('parseSearch reads a search strictly', () => {
  test('the parameters of each type, with their values', () => {
    assert.deepEqual(parsed('Encounter', 'patient=P-001&status=finished,cancelled'), {
      type: 'Encounter',
      filters: [
        { name: 'patient', kind: 'reference', values: ['P-001'] },
        { name: 'status', kind: 'token', values: ['finished', 'cancelled'] },
      ],
      count: 20,
      page: 0,
      include: false,
    });
    assert.deepEqual(parsed('Task', 'status=completed&focus=ServiceRequest/6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5&encounter=7').filters.map((f) => [f.name, 'values' in f ? f.values : f.bounds]), [
      ['status', ['completed']],
      ['focus', ['6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5']],
      ['encounter', ['7']],
    ]);
    assert.deepEqual(parsed('ServiceRequest', 'encounter=Encounter/7').filters, [{ name: 'encounter', kind: 'reference', values: ['7'] }]);
    assert.deepEqual(parsed('DiagnosticReport', 'encounter=7,8').filters, [{ name: 'encounter', kind: 'reference', values: ['7', '8'] }]);
  });

  test('a parameter the type does not take is refused by name, listing the ones it does', () => {
    refused('Encounter', 'subject=P-001', 'subject', /Encounter cannot be searched by subject; it takes patient, status, date, _count, _page, _include/);
    refused('ServiceRequest', 'status=active', 'status', /cannot be searched by status/);
    refused('DiagnosticReport', 'patient=P-001', 'patient', /cannot be searched by patient/);
    refused('Encounter', 'constructor=x', 'constructor', /cannot be searched by constructor/);
    refused('Encounter', 'status:not=finished', 'status:not', /cannot be searched by status:not/);
  });

  test("a token outside the type's codes, or an empty one, is refused", () => {
    refused('Encounter', 'status=done', 'status', /"done" is not one of planned, arrived, in-progress, finished, cancelled/);
    refused('Task', 'status=finished', 'status', /"finished" is not one of requested, in-progress, completed, cancelled/);
    refused('Encounter', 'status=finished,', 'status', /must not be empty/);
    refused('Encounter', 'status=', 'status', /must not be empty/);
  });

  test('a reference is an id or <Type>/<id> of the type the parameter points to; anything else is refused', () => {
    assert.deepEqual(parsed('Encounter', 'patient=Patient/P-001').filters, parsed('Encounter', 'patient=P-001').filters);
    refused('Encounter', 'patient=Encounter/7', 'patient', /must be a Patient id or Patient\/<id>/);
    refused('Task', 'focus=Task/101', 'focus', /must be a ServiceRequest id or ServiceRequest\/<id>/);
    for (const bad of ['Patient/', 'Patient/a/b', 'P 001', 'http://other.example/fhir/Patient/1', 'x'.repeat(65), 'Patient/P_001']) {
      refused('Encounter', `patient=${encodeURIComponent(bad)}`, 'patient', /must be a Patient id/);
    }
  });

  test('_count from 1 to 100, _page from 0, both whole numbers', () => {
    assert.deepEqual([parsed('Encounter', '_count=1').count, parsed('Encounter', '_count=100').count, parsed('Encounter', '_count= 7 ').count], [1, 100, 7]);
    assert.deepEqual([parsed('Encounter', '_page=0').page, parsed('Encounter', '_page=12').page], [0, 12]);
    for (const count of ['0', '101', '-1', '1.5', '1e2', 'ten', '']) refused('Encounter', `_count=${count}`, '_count', /from 1 to 100/);
    for (const page of ['-1', '0.5', 'x', '']) refused('Encounter', `_page=${page}`, '_page', /from 0/);
  });

  test("_include takes only the type's own include", () => {
    for (const type of searchableTypes) {
      assert.equal(parsed(type, `_include=${searchIncludes[type]}`).include, true, type);
    }
    refused('Encounter', '_include=Task:focus', '_include', /Encounter takes only _include=Encounter:patient/);
    refused('Task', '_include=Task:owner', '_include', /Task takes only _include=Task:focus/);
    refused('Encounter', '_include=*', '_include', /only _include=Encounter:patient/);
  });

  test('_format=json (or its MIME type) is ignored: the answer is JSON anyway; another format is refused', () => {
    assert.deepEqual(parsed('Encounter', '_format=json&status=finished'), parsed('Encounter', 'status=finished'));
    assert.deepEqual(parsed('Encounter', '_format=application/fhir%2Bjson'), parsed('Encounter', ''));
    refused('Encounter', '_format=xml', '_format', /cannot be searched by _format/);
  });

  test("a subscription's criteria take no paging: _count, _page and _include are unknown there", () => {
    refused('Encounter', 'status=finished&_count=5', '_count', /Encounter cannot be searched by _count; it takes patient, status, date$/, false);
    refused('Encounter', '_page=1', '_page', /cannot be searched by _page/, false);
    refused('Encounter', '_include=Encounter:patient', '_include', /cannot be searched by _include/, false);
  });
});

describe('a date parameter', () => {
  const dateBounds = (value: string) => {
    const [filter] = parsed('Encounter', `date=${encodeURIComponent(value)}`).filters;
    assert.ok(filter?.kind === 'date');
    return filter.bounds.map((b) => `${b.comparator} ${b.instant}`);
  };
  // 2026-12-07 in Seoul (UTC+9, no daylight saving) runs from 2026-12-06T15:00Z to 2026-12-07T15:00Z.
  const start = startOfHospitalDay('2026-12-07', zone).toISOString();
  const end = endOfHospitalDay('2026-12-07', zone).toISOString();

  test("a date alone is the hospital's whole day, with each prefix", () => {
    assert.deepEqual([start, end], ['2026-12-06T15:00:00.000Z', '2026-12-07T15:00:00.000Z']);
    assert.deepEqual(dateBounds('2026-12-07'), [`ge ${start}`, `lt ${end}`]);
    assert.deepEqual(dateBounds('eq2026-12-07'), [`ge ${start}`, `lt ${end}`]);
    assert.deepEqual(dateBounds('ge2026-12-07'), [`ge ${start}`]);
    assert.deepEqual(dateBounds('gt2026-12-07'), [`ge ${end}`], 'after the day: from its end');
    assert.deepEqual(dateBounds('lt2026-12-07'), [`lt ${start}`]);
    assert.deepEqual(dateBounds('le2026-12-07'), [`lt ${end}`], 'up to the day: before its end');
  });

  test('a date and time with its offset is that moment, with each prefix', () => {
    const moment = '2026-12-07T00:30:00.000Z';
    assert.deepEqual(dateBounds('2026-12-07T09:30:00+09:00'), [`ge ${moment}`, `le ${moment}`]);
    assert.deepEqual(dateBounds('ge2026-12-07T09:30+09:00'), [`ge ${moment}`]);
    assert.deepEqual(dateBounds('gt2026-12-07T00:30:00Z'), [`gt ${moment}`]);
    assert.deepEqual(dateBounds('lt2026-12-06T19:30:00.000-05:00'), [`lt ${moment}`]);
    assert.deepEqual(dateBounds('le2026-12-07T00:30:00.000000001Z'), [`le ${moment}`]);
  });

  test('anything else is refused: no offset, a prefix FHIR has but this server does not, a month, a day that does not exist', () => {
    for (const bad of ['2026-12-07T09:30:00', 'ne2026-12-07', 'sa2026-12-07', '2026-12', '2026', 'ge', 'today', '2026-12-07T25:00:00Z', '2026-02-30', '2026-13-01', '2026-00-10', '2026-02-30T10:00:00Z']) {
      refused('Encounter', `date=${encodeURIComponent(bad)}`, 'date', /must be a date \(2026-12-07\) or a date and time with its offset/);
    }
  });

  test('a day at the end of the calendar is refused at once, neither an error nor a search that never ends', () => {
    for (const bad of ['9999-12-31', '9999-12-32', 'gt9999-12-31', '0000-01-01', '0099-12-31']) {
      const started = Date.now();
      refused('Encounter', `date=${bad}`, 'date', /must be a date/);
      assert.ok(Date.now() - started < 1_000, `${bad} took ${Date.now() - started} ms`);
    }
  });

  // Instants and days over the 2020s, a few of them at the edges of a Seoul day.
  const day = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2029-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  const instant = fc.oneof(
    fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2029-12-31T00:00:00Z'), noInvalidDate: true }),
    fc.tuple(day, fc.integer({ min: -1, max: 1 })).map(([d, ms]) => new Date(startOfHospitalDay(d, zone).getTime() + ms)),
  );
  const prefix = fc.constantFrom('', 'eq', 'ge', 'gt', 'le', 'lt');
  const compareAs: Record<string, (a: number, b: number) => boolean> = {
    '': (a, b) => a === b,
    eq: (a, b) => a === b,
    ge: (a, b) => a >= b,
    gt: (a, b) => a > b,
    le: (a, b) => a <= b,
    lt: (a, b) => a < b,
  };

  test("property: a date alone matches what falls on that hospital day, by hospitalDayOf, whatever the prefix", () => {
    fc.assert(
      fc.property(instant, day, prefix, (at, searched, p) => {
        const { filters } = parsed('Encounter', `date=${p}${searched}`);
        // Days as text compare as days (four-digit years).
        const sameOrder = compareAs[p]!(Number(hospitalDayOf(at, zone) > searched) - Number(hospitalDayOf(at, zone) < searched), 0);
        assert.equal(matchesFilters({ date: at.toISOString() }, filters), sameOrder, `${at.toISOString()} date=${p}${searched}`);
      }),
      { numRuns: 500 },
    );
  });

  test('property: a moment matches by a plain comparison of instants, whatever the offset it is written with', () => {
    const offset = fc.constantFrom('Z', '+09:00', '-05:00', '+05:45');
    fc.assert(
      fc.property(instant, instant, prefix, offset, fc.boolean(), (at, bound, p, zoneOffset, same) => {
        const searched = same ? at : new Date(Math.floor(bound.getTime() / 1000) * 1000);
        const written = withOffset(searched, zoneOffset);
        const { filters } = parsed('Encounter', `date=${encodeURIComponent(`${p}${written}`)}`);
        assert.equal(matchesFilters({ date: at.toISOString() }, filters), compareAs[p]!(at.getTime(), searched.getTime()), `${at.toISOString()} date=${p}${written}`);
      }),
      { numRuns: 500 },
    );
  });
});

/** The instant written in another zone's local time, with that zone's offset. */
function withOffset(instant: Date, offset: string): string {
  if (offset === 'Z') return instant.toISOString();
  const sign = offset.startsWith('-') ? -1 : 1;
  const [hours, minutes] = offset.slice(1).split(':').map(Number) as [number, number];
  const local = new Date(instant.getTime() + sign * (hours * 60 + minutes) * 60_000);
  return `${local.toISOString().slice(0, 23)}${offset}`;
}

describe('matchesFilters', () => {
  const encounter: EncounterRecord = { receptionId: 7, patientId: 'P-001', stage: 'DIAGNOSIS_COMPLETED', receivedAt: '2026-12-07T00:00:00.000Z', calledAt: '2026-12-07T00:05:00.000Z', updatedAt: '2026-12-07T00:40:00.000Z' };
  const task: TaskRecord = {
    examinationId: 101, prescriptionId: '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5', receptionId: 7, patientId: 'P-001', examinationType: 'CHEST_XRAY',
    status: 'REQUESTED', queueState: 'CALLED', requestedAt: '2026-12-07T00:11:00.000Z', attachments: [], updatedAt: '2026-12-07T00:20:00.000Z',
  };
  const matches = (type: SearchableType, values: Record<string, string>, query: string) => matchesFilters(values, parsed(type, query, false).filters);

  test("every filter must match, each by any of its values, on the record's search values", () => {
    const values = searchValuesOf.Encounter(encounter);
    assert.deepEqual(values, { patient: 'P-001', status: 'finished', date: '2026-12-07T00:00:00.000Z' });
    assert.equal(matches('Encounter', values, ''), true);
    assert.equal(matches('Encounter', values, 'status=finished'), true);
    assert.equal(matches('Encounter', values, 'status=cancelled,finished&patient=Patient/P-001'), true);
    assert.equal(matches('Encounter', values, 'status=finished&patient=P-002'), false);
    assert.equal(matches('Encounter', values, 'status=finished&date=2026-12-07'), true);
    assert.equal(matches('Encounter', values, 'status=finished&date=2026-12-06'), false);
    // The same parameter twice: both must hold.
    assert.equal(matches('Encounter', values, 'status=finished&status=cancelled'), false);
  });

  test("a Task's status is its examination's, in progress once its patient is called; its focus the ServiceRequest", () => {
    const values = searchValuesOf.Task(task);
    assert.deepEqual(values, { status: 'in-progress', focus: task.prescriptionId, encounter: '7' });
    assert.equal(matches('Task', values, `focus=ServiceRequest/${task.prescriptionId}&status=in-progress`), true);
    assert.equal(matches('Task', searchValuesOf.Task({ ...task, status: 'PERFORMED' }), 'status=completed'), true);
    assert.equal(matches('Task', values, 'encounter=Encounter/8'), false);
  });

  test('a resource without a value for a filtered parameter does not match', () => {
    assert.equal(matches('DiagnosticReport', {}, 'encounter=7'), false);
  });
});
