import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { initialsOf, isInitialsSearch, isIssuedPatientNumber, nameKeyOf, patientNumberOf, phoneDigitsOf, serialOfPatientNumber } from '../src/patients.ts';

describe('patient numbers', () => {
  test('eight digits: the serial zero-padded to seven, then its Luhn check digit', () => {
    // Luhn of 0000001: the payload's rightmost digit doubled (2), sum 2, check 8.
    assert.equal(patientNumberOf(1), '00000018');
    assert.equal(patientNumberOf(2), '00000026');
    assert.equal(patientNumberOf(200_001), '02000016');
    assert.equal(patientNumberOf(9_999_999), '99999997');
    assert.throws(() => patientNumberOf(0), RangeError);
    assert.throws(() => patientNumberOf(10_000_000), RangeError);
  });

  test('every number issued checks, and its serial is read back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999 }), (serial) => {
        const number = patientNumberOf(serial);
        assert.ok(isIssuedPatientNumber(number));
        assert.equal(serialOfPatientNumber(number), serial);
      }),
    );
  });

  test('one digit typed wrong, or two neighbours swapped, is no patient number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 9 }), (serial, at, delta) => {
        const number = patientNumberOf(serial);
        const slipped = number.slice(0, at) + String((Number(number[at]) + delta) % 10) + number.slice(at + 1);
        assert.equal(isIssuedPatientNumber(slipped), false, `${number} → ${slipped}`);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 6 }), (serial, at) => {
        const number = patientNumberOf(serial);
        // Luhn misses only the swap of 0 and 9.
        if (number[at] === number[at + 1] || `${number[at]}${number[at + 1]}`.match(/^(09|90)$/)) return;
        const swapped = number.slice(0, at) + number[at + 1] + number[at] + number.slice(at + 2);
        assert.equal(isIssuedPatientNumber(swapped), false, `${number} → ${swapped}`);
      }),
    );
  });

  test('ids of another form are not issued numbers', () => {
    for (const id of ['P-1001', '0000001', '000000180', 'abcdefgh', '']) assert.equal(isIssuedPatientNumber(id), false, id);
    assert.equal(serialOfPatientNumber('P-1001'), undefined);
  });
});

describe('names as the registry searches them', () => {
  test('initial consonants of Hangul syllables, the rest as the name key has it', () => {
    assert.equal(initialsOf('김민지'), 'ㄱㅁㅈ');
    assert.equal(initialsOf('이 서 연'), 'ㅇㅅㅇ');
    assert.equal(initialsOf('쌍둥이'), 'ㅆㄷㅇ');
    assert.equal(initialsOf('Kim 민지'), 'kimㅁㅈ');
  });

  test('the name key ignores case, spaces and the Unicode form', () => {
    assert.equal(nameKeyOf('Kim Minji'), nameKeyOf('kim  minji'));
    // 김 as one code point and as its three jamo (NFD) are the same name.
    assert.equal(nameKeyOf('김민지'), nameKeyOf('김민지'.normalize('NFD')));
  });

  test('a search is by initials when it has initial consonants and no Hangul syllable', () => {
    assert.equal(isInitialsSearch('ㄱㅁㅈ'), true);
    assert.equal(isInitialsSearch('ㄱ ㅁ'), true);
    assert.equal(isInitialsSearch('ㄱㅁㅈ2'), true);
    assert.equal(isInitialsSearch('김ㅁ'), false);
    assert.equal(isInitialsSearch('kim'), false);
    assert.equal(isInitialsSearch('00000018'), false);
  });

  test('a phone number compares by its digits', () => {
    assert.equal(phoneDigitsOf('010-1234 5678'), '01012345678');
    assert.equal(phoneDigitsOf('+82 10-1234-5678'), '821012345678');
  });
});
