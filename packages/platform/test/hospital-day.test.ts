import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../src/lib/env.ts';
import { endOfHospitalDay, hospitalDayOf, hospitalHourOf, readTimeZone, startOfHospitalDay } from '../src/lib/hospital-day.ts';
import { loadConfig } from '../src/service/config.ts';

test('a hospital day is the calendar date of the hospital\'s zone, whatever the server\'s', () => {
  assert.equal(hospitalDayOf('2026-12-06T14:59:59.999Z', 'Asia/Seoul'), '2026-12-06');
  assert.equal(hospitalDayOf('2026-12-06T15:00:00.000Z', 'Asia/Seoul'), '2026-12-07');
  assert.equal(hospitalDayOf('2026-12-06T15:00:00.000Z', 'Etc/GMT+12'), '2026-12-06');
  assert.equal(hospitalHourOf('2026-12-06T15:30:00Z', 'Asia/Seoul'), 0);
  assert.equal(hospitalHourOf('2026-12-06T14:30:00Z', 'Asia/Seoul'), 23);
  assert.equal(startOfHospitalDay('2026-12-07', 'Asia/Seoul').toISOString(), '2026-12-06T15:00:00.000Z');
  assert.equal(endOfHospitalDay('2026-12-07', 'Asia/Seoul').toISOString(), '2026-12-07T15:00:00.000Z');
});

test('across daylight saving changes a day is 23 or 25 hours, and a day whose midnight is skipped starts at the first instant it has', () => {
  // New York springs forward at 02:00 on 8 March 2026 and falls back on 1 November.
  assert.equal(startOfHospitalDay('2026-03-08', 'America/New_York').toISOString(), '2026-03-08T05:00:00.000Z');
  assert.equal(endOfHospitalDay('2026-03-08', 'America/New_York').getTime() - startOfHospitalDay('2026-03-08', 'America/New_York').getTime(), 23 * 3_600_000);
  assert.equal(endOfHospitalDay('2026-11-01', 'America/New_York').getTime() - startOfHospitalDay('2026-11-01', 'America/New_York').getTime(), 25 * 3_600_000);
  // Santiago moves from 00:00 to 01:00 on 6 September 2026: the day begins at 01:00 local, 04:00 UTC.
  assert.equal(startOfHospitalDay('2026-09-06', 'America/Santiago').toISOString(), '2026-09-06T04:00:00.000Z');
});

test('every instant falls within the day it is on, in any zone', () => {
  const zones = ['Asia/Seoul', 'America/New_York', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Kiritimati', 'Etc/GMT+12', 'UTC'];
  fc.assert(
    fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true }), fc.constantFrom(...zones), (instant, zone) => {
      const day = hospitalDayOf(instant, zone);
      const start = startOfHospitalDay(day, zone);
      const end = endOfHospitalDay(day, zone);
      assert.ok(start.getTime() <= instant.getTime() && instant.getTime() < end.getTime(), `${instant.toISOString()} in ${zone}: ${day} is ${start.toISOString()}..${end.toISOString()}`);
      assert.equal(hospitalDayOf(start, zone), day);
      assert.notEqual(hospitalDayOf(new Date(start.getTime() - 1), zone), day);
    }),
    { numRuns: 500 },
  );
});

test('HOSPITAL_TIME_ZONE is an IANA zone, Asia/Seoul by default, and every service reads it', () => {
  assert.equal(readTimeZone({}), 'Asia/Seoul');
  assert.equal(readTimeZone({ HOSPITAL_TIME_ZONE: ' Europe/Berlin ' }), 'Europe/Berlin');
  assert.throws(() => readTimeZone({ HOSPITAL_TIME_ZONE: 'Mars/Olympus' }), (error: unknown) => error instanceof ConfigError && /HOSPITAL_TIME_ZONE/.test(error.message));
  assert.equal(loadConfig('reception', 8082, { HOSPITAL_TIME_ZONE: 'Asia/Tokyo' }).timeZone, 'Asia/Tokyo');
  assert.throws(() => loadConfig('reception', 8082, { HOSPITAL_TIME_ZONE: 'Seoul' }), /HOSPITAL_TIME_ZONE/);
});
