import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultHospitalCatalog } from '@medical/contracts';
import { Message } from 'node-hl7-client';
import type { EncounterRecord, PatientRecord, ServiceRequestRecord, TaskRecord } from '../src/fhir/index.ts';
import { escapeText, hl7Timestamp, instantOfHl7, orderMessage, registrationMessage, resultMessage, unescapeText, type MessageMeta } from '../src/hl7/index.ts';

// Every message built here is read back by node-hl7-client's parser, an HL7 library of its own,
// so a field in the wrong place or a delimiter left unescaped shows as a wrong value there.

const catalog = defaultHospitalCatalog;
const at = (minute: number) => `2026-12-07T00:${String(minute).padStart(2, '0')}:00.000Z`;
const doctor = { subject: 'doctor-1', name: '이의사' };
const P1 = '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5';
const parties = { sendingApplication: 'MEDICAL', sendingFacility: 'SEOUL_HOSP', receivingApplication: 'ENGINE', receivingFacility: 'SEOUL_HOSP' };
const meta: MessageMeta = { parties, controlId: 'delivery-41', timestamp: at(45) };

const patient: PatientRecord = { patientId: '00000018', name: '김민지', birthDate: '1990-04-01', sex: 'female', updatedAt: at(0) };
const encounter: EncounterRecord = {
  receptionId: 7, patientId: '00000018', stage: 'IN_EXAMINATION', department: 'internal-medicine', receivedAt: at(0), calledAt: at(5), doctor, updatedAt: at(10),
};
const request: ServiceRequestRecord = {
  prescriptionId: P1, receptionId: 7, patientId: '00000018', examinationType: 'CHEST_XRAY', instructions: '금속류 제거', status: 'REQUESTED', prescribedAt: at(10), doctor, updatedAt: at(10),
};
const longResult = `No active lung lesion | heart size normal ^ mediastinum ~ unremarkable \\ see & compare.\nImpression:\r\n  normal chest. ${'한'.repeat(5000)}`;
const task: TaskRecord = {
  examinationId: 101, prescriptionId: P1, receptionId: 7, patientId: '00000018', examinationType: 'CHEST_XRAY', status: 'PERFORMED',
  department: 'radiology', requestedAt: at(11), result: longResult, performedAt: at(30), attachments: [], updatedAt: at(30),
};

const read = (text: string) => new Message({ text });
const field = (message: Message, path: string) => message.get(path).toString();

describe('ADT^A04 when a visit is registered', () => {
  test('MSH, EVN, PID and PV1 as an independent parser reads them', () => {
    const message = read(registrationMessage(patient, encounter, meta));
    assert.equal(field(message, 'MSH.3'), 'MEDICAL');
    assert.equal(field(message, 'MSH.6'), 'SEOUL_HOSP');
    assert.equal(field(message, 'MSH.7'), '20261207004500+0000');
    assert.equal(field(message, 'MSH.9.1'), 'ADT');
    assert.equal(field(message, 'MSH.9.2'), 'A04');
    assert.equal(field(message, 'MSH.10'), 'delivery-41');
    assert.equal(field(message, 'MSH.11'), 'P');
    assert.equal(field(message, 'MSH.12'), '2.5.1');
    assert.equal(field(message, 'EVN.2'), '20261207000000+0000');
    assert.equal(field(message, 'PID.3.1'), '00000018');
    assert.equal(field(message, 'PID.3.4.1'), 'SEOUL_HOSP');
    assert.equal(field(message, 'PID.3.5'), 'MR');
    assert.equal(field(message, 'PID.5.1'), '김민지');
    assert.equal(field(message, 'PID.7'), '19900401');
    assert.equal(field(message, 'PID.8'), 'F');
    assert.equal(field(message, 'PV1.2'), 'O');
    assert.equal(field(message, 'PV1.3.1'), 'internal-medicine');
    assert.equal(field(message, 'PV1.19.1'), '7');
    assert.equal(field(message, 'PV1.44'), '20261207000000+0000');
  });

  test('the same records and meta give the same text, so a message sent again is the same message', () => {
    assert.equal(registrationMessage(patient, encounter, meta), registrationMessage(patient, encounter, meta));
  });

  test('a patient whose sex and birth date the events never said leaves PID-7 and PID-8 empty', () => {
    const message = read(registrationMessage({ ...patient, sex: undefined, birthDate: undefined }, encounter, meta));
    assert.equal(field(message, 'PID.7'), '');
    assert.equal(field(message, 'PID.8'), '');
  });
});

describe('ORM^O01 for each prescription', () => {
  test('a new order: ORC-1 NW, the prescription as placer, the examination as filler, the code with its LOINC', () => {
    const text = orderMessage(request, patient, encounter, catalog, meta, 101);
    const message = read(text);
    assert.equal(field(message, 'MSH.9.1'), 'ORM');
    assert.equal(field(message, 'MSH.9.2'), 'O01');
    assert.equal(field(message, 'PID.3.1'), '00000018');
    assert.equal(field(message, 'PV1.19.1'), '7');
    assert.equal(field(message, 'ORC.1'), 'NW');
    assert.equal(field(message, 'ORC.2.1'), P1);
    assert.equal(field(message, 'ORC.3.1'), '101');
    assert.equal(field(message, 'ORC.5'), 'SC');
    assert.equal(field(message, 'OBR.2.1'), P1);
    assert.equal(field(message, 'OBR.3.1'), '101');
    assert.equal(field(message, 'OBR.4.1'), 'CHEST_XRAY');
    assert.equal(field(message, 'OBR.4.2'), '흉부 X선 (2방향)');
    assert.equal(field(message, 'OBR.4.3'), 'L');
    assert.equal(field(message, 'OBR.4.4'), '36643-5');
    assert.equal(field(message, 'OBR.4.6'), 'LN');
    assert.equal(field(message, 'OBR.6'), '20261207001000+0000');
    assert.equal(field(message, 'NTE.3'), '금속류 제거');
  });

  test('before the examination has an id, no filler order number', () => {
    const message = read(orderMessage(request, patient, encounter, catalog, meta));
    assert.equal(field(message, 'ORC.3'), '');
    assert.equal(field(message, 'OBR.3'), '');
  });

  test('a revoked prescription cancels the order: ORC-1 CA, status CA', () => {
    const message = read(orderMessage({ ...request, status: 'CANCELLED', updatedAt: at(20) }, patient, encounter, catalog, meta, 101));
    assert.equal(field(message, 'ORC.1'), 'CA');
    assert.equal(field(message, 'ORC.5'), 'CA');
    assert.equal(field(message, 'ORC.9'), '20261207002000+0000');
  });

  test('an examination off the catalog is named by its text, without a LOINC it does not have', () => {
    const message = read(orderMessage({ ...request, examinationType: 'X-RAY' }, patient, encounter, catalog, meta));
    assert.equal(field(message, 'OBR.4.1'), '');
    assert.equal(field(message, 'OBR.4.2'), 'X-RAY');
    assert.equal(field(message, 'OBR.4.4'), '');
  });
});

describe('ORU^R01 when an examination is performed', () => {
  test('ORC RE, OBR final, and OBX-5 the whole result, delimiters and line breaks included', () => {
    const message = read(resultMessage(task, request, patient, encounter, catalog, meta));
    assert.equal(field(message, 'MSH.9.1'), 'ORU');
    assert.equal(field(message, 'MSH.9.2'), 'R01');
    assert.equal(field(message, 'PID.3.1'), '00000018');
    assert.equal(field(message, 'PV1.19.1'), '7');
    assert.equal(field(message, 'ORC.1'), 'RE');
    assert.equal(field(message, 'ORC.2.1'), P1);
    assert.equal(field(message, 'OBR.3.1'), '101');
    assert.equal(field(message, 'OBR.4.1'), 'CHEST_XRAY');
    assert.equal(field(message, 'OBR.7'), '20261207003000+0000');
    assert.equal(field(message, 'OBR.25'), 'F');
    assert.equal(field(message, 'OBX.2'), 'TX');
    assert.equal(field(message, 'OBX.3.1'), 'CHEST_XRAY');
    assert.equal(field(message, 'OBX.5'), longResult);
    assert.equal(field(message, 'OBX.11'), 'F');
    assert.equal(field(message, 'OBX.14'), '20261207003000+0000');
  });

  test('the result cannot break the message: one line per segment, six segments', () => {
    const text = resultMessage(task, request, patient, encounter, catalog, meta);
    assert.deepEqual(text.split('\r').map((segment) => segment.slice(0, 3)), ['MSH', 'PID', 'PV1', 'ORC', 'OBR', 'OBX']);
    assert.doesNotMatch(text, /\n|\x1c/);
  });

  test('an examination without its result is refused, not sent empty', () => {
    assert.throws(() => resultMessage({ ...task, status: 'REQUESTED', result: undefined, performedAt: undefined }, request, patient, encounter, catalog, meta), /has no result/);
  });
});

describe('escaping', () => {
  test('every delimiter, the escape character and control characters escaped, and back', () => {
    assert.equal(escapeText('a|b^c~d\\e&f\ng\rh\ti'), 'a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0A\\g\\X0D\\h\\X09\\i');
    for (const text of ['', 'plain', '|^~\\&', '\\F\\ written by a person', '한국어\r\n줄바꿈', longResult]) assert.equal(unescapeText(escapeText(text)), text);
  });

  test("what other senders write: FT's line break, hexadecimal UTF-8, highlighting, and sequences left as they were", () => {
    assert.equal(unescapeText('line 1\\.br\\line 2'), 'line 1\nline 2');
    assert.equal(unescapeText('\\XED959C\\'), '한');
    assert.equal(unescapeText('\\H\\high\\N\\ normal'), 'high normal');
    assert.equal(unescapeText('\\C2842\\ and \\Zlocal\\'), '\\C2842\\ and \\Zlocal\\');
    assert.equal(unescapeText('unclosed \\F'), 'unclosed \\F');
  });
});

describe('times', () => {
  test('sent in UTC with the offset said, to the second', () => {
    assert.equal(hl7Timestamp('2026-12-07T09:30:15.789+09:00'), '20261207003015+0000');
    assert.throws(() => hl7Timestamp('yesterday'), RangeError);
  });

  test('read with their offset, or in the zone given when they have none', () => {
    assert.equal(instantOfHl7('20261207093000+0900'), '2026-12-07T00:30:00.000Z');
    assert.equal(instantOfHl7('20261207093000', 'Asia/Seoul'), '2026-12-07T00:30:00.000Z');
    assert.equal(instantOfHl7('20261207093000'), '2026-12-07T09:30:00.000Z');
    assert.equal(instantOfHl7('202612070930'), '2026-12-07T09:30:00.000Z');
    assert.equal(instantOfHl7('20261207'), '2026-12-07T00:00:00.000Z');
    assert.equal(instantOfHl7('20261207093000.5-0500'), '2026-12-07T14:30:00.500Z');
    // New York's clock in July is four hours behind, in December five: the zone's offset on that day.
    assert.equal(instantOfHl7('20260701120000', 'America/New_York'), '2026-07-01T16:00:00.000Z');
    assert.equal(instantOfHl7('20261201120000', 'America/New_York'), '2026-12-01T17:00:00.000Z');
  });

  test('what is not a time is undefined, not a day rolled over', () => {
    for (const text of ['', 'yesterday', '20261307', '20260230', '20261207250000', '20261207126000', '2026120709300', '20261207093000+2500', '00501207']) {
      assert.equal(instantOfHl7(text), undefined, text);
    }
  });
});
