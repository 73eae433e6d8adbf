import { Type, type Static } from 'typebox';
import { pagingProperties } from './api.ts';
import { BirthDate, PatientId, PatientName, Timestamp } from './common.ts';

/**
 * The patient registry (kept by the reception service): each patient registered once, with the
 * hospital patient number the system issues, and only what the desk needs to find them again and
 * tell two people apart. No resident registration number, no address: the minimum.
 *
 * A patient number is eight digits: a serial of seven, then a check digit (Luhn's, as on payment
 * cards). Numbers are handed out in order, so a number typed with one digit wrong, or two
 * neighbours swapped, would otherwise be another real patient; with the check digit it is no
 * patient at all, and the desk is told so. Numbers are never reused: a merged patient's number
 * stays, pointing to the one kept. Patients carried over from before the registry keep the
 * numbers their visits had (`P-1001`), whatever their form.
 */

const PATIENT_NUMBER_DIGITS = 8;

/** The Luhn check digit of a string of digits. */
function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // From the right, every second digit (starting with the rightmost of the payload) is doubled.
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** The patient number of the registry's `serial`th patient: its seven digits (zero-padded) and their check digit. */
export function patientNumberOf(serial: number): string {
  if (!Number.isSafeInteger(serial) || serial < 1 || serial >= 10 ** (PATIENT_NUMBER_DIGITS - 1)) throw new RangeError(`no patient number for serial ${serial}`);
  const payload = String(serial).padStart(PATIENT_NUMBER_DIGITS - 1, '0');
  return `${payload}${luhnCheckDigit(payload)}`;
}

/** Whether `value` is a patient number the registry could have issued: eight digits whose last checks the others. */
export function isIssuedPatientNumber(value: string): boolean {
  if (!/^[0-9]{8}$/.test(value)) return false;
  return luhnCheckDigit(value.slice(0, -1)) === Number(value.slice(-1));
}

/** The serial a patient number was issued for (the id sequence's value), or undefined for a number of another form. */
export function serialOfPatientNumber(value: string): number | undefined {
  return isIssuedPatientNumber(value) ? Number(value.slice(0, -1)) : undefined;
}

/** Administrative sex, as FHIR's AdministrativeGender codes it. */
export const patientSexes = ['female', 'male', 'other', 'unknown'] as const;
export type PatientSex = (typeof patientSexes)[number];
export const PatientSexSchema = Type.Enum(patientSexes);

/** A telephone number as the desk types it: digits, optionally a leading +, spaces and hyphens between. */
export const PhoneNumber = Type.String({ minLength: 7, maxLength: 24, pattern: '^\\+?[0-9][0-9 -]*[0-9]$' });

export const patientStatuses = ['ACTIVE', 'MERGED'] as const;
export type PatientStatus = (typeof patientStatuses)[number];

export const RegisterPatientBody = Type.Object(
  {
    name: PatientName,
    birthDate: BirthDate,
    sex: PatientSexSchema,
    phone: Type.Optional(PhoneNumber),
    /**
     * The registry refuses (409, with the candidates) a patient who looks like one already
     * registered: the same name and birth date, or the same phone and either. The desk, having
     * looked at the candidates and found a different person, sends the registration again with
     * this set; the new patient is registered flagged as a possible duplicate of them, for review.
     */
    notADuplicate: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RegisterPatientRequest = Static<typeof RegisterPatientBody>;

/**
 * A correction of what the registry has (a name misspelt, a birth date typed wrong, a new phone):
 * the fields sent replace the registry's; `phone: null` removes it. The visits already registered
 * keep the name and birth date they were registered with (what the staff saw then); the next ones
 * take the corrected ones.
 */
export const CorrectPatientBody = Type.Object(
  {
    name: Type.Optional(PatientName),
    birthDate: Type.Optional(BirthDate),
    sex: Type.Optional(PatientSexSchema),
    phone: Type.Optional(Type.Union([PhoneNumber, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CorrectPatientRequest = Static<typeof CorrectPatientBody>;

export const MergePatientBody = Type.Object(
  { mergedPatientId: Type.String({ minLength: 1, maxLength: 64, pattern: '\\S', description: 'The number of the duplicate, merged into the patient of the path' }) },
  { additionalProperties: false },
);

export const Patient = Type.Object({
  patientId: PatientId,
  name: PatientName,
  /** Every patient registered since the registry has one; one carried over from a visit registered without one has none. */
  birthDate: Type.Optional(BirthDate),
  sex: PatientSexSchema,
  phone: Type.Optional(PhoneNumber),
  status: Type.Enum(patientStatuses),
  /** A merged patient's number points to the patient kept. */
  mergedInto: Type.Optional(PatientId),
  /** Registered although the registry found these look-alikes: to be reviewed, and merged or left. */
  possibleDuplicates: Type.Array(PatientId),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type PatientView = Static<typeof Patient>;

/** The longest search text: longer than any name, number or phone. */
export const PATIENT_SEARCH_MAX = 100;

export const PatientQuery = Type.Object(
  {
    ...pagingProperties,
    /**
     * A patient number (or its first digits), a phone number, a name or its first letters, or
     * the initial consonants of the name (ㄱㅁㅈ finds 김민지).
     */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: PATIENT_SEARCH_MAX, pattern: '\\S' })),
    birthDate: Type.Optional(BirthDate),
    /** Only patients registered as possible duplicates, for review. */
    possibleDuplicate: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PatientQueryRequest = Static<typeof PatientQuery>;

/** The 409 of a registration that looks like a patient already registered: `candidates` holds them. */
export const POSSIBLE_DUPLICATE_PROBLEM = 'urn:medical:problem:possible-duplicate';

const HANGUL_FIRST = 0xac00;
const HANGUL_LAST = 0xd7a3;
/** The 19 initial consonants of Hangul syllables, in Unicode's order, as compatibility jamo (what a keyboard types). */
const INITIALS = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ';

/**
 * A name as the registry compares and searches it: Unicode NFC, lower case, without spaces, so
 * "김 민지", "김민지" and, for a Latin name, "Kim Minji" and "kim minji" are one.
 */
export function nameKeyOf(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\s+/g, '');
}

/**
 * The initial consonants of a name (김민지 → ㄱㅁㅈ), as Korean staff search by them; a character
 * that is not a Hangul syllable is kept as the name key has it.
 */
export function initialsOf(name: string): string {
  let initials = '';
  for (const char of nameKeyOf(name)) {
    const code = char.codePointAt(0)!;
    initials += code >= HANGUL_FIRST && code <= HANGUL_LAST ? INITIALS[Math.floor((code - HANGUL_FIRST) / 588)] : char;
  }
  return initials;
}

/**
 * Whether a search is by initial consonants: it has some (ㄱㅁㅈ) and no Hangul syllable; letters
 * and digits beside them are matched as initialsOf keeps them (ㄱㅁㅈ2 finds 김민지2).
 */
export function isInitialsSearch(text: string): boolean {
  const key = nameKeyOf(text);
  const chars = [...key];
  return chars.some((char) => INITIALS.includes(char)) && !chars.some((char) => {
    const code = char.codePointAt(0)!;
    return code >= HANGUL_FIRST && code <= HANGUL_LAST;
  });
}

/** A phone number's digits, as the registry compares them ("010-1234-5678" is "01012345678"). */
export function phoneDigitsOf(phone: string): string {
  return phone.replace(/[^0-9]/g, '');
}
