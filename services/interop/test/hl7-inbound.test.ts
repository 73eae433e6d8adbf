import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HL7_2_5_1, Message } from 'node-hl7-client';
import { acknowledgement, readResult, type AckMeta, type Refusal } from '../src/hl7/index.ts';

// The laboratory's messages are built with node-hl7-client's builder, not this service's: what
// is read is what another library writes. The builder takes field values as written, so the
// escape sequences in them are written out by hand, as a sender's would be.

type Observation = { type?: string; code?: string; value: string; status?: string; observedAt?: string; unit?: string; range?: string; flag?: string };
type Laboratory = { controlId?: string; type?: [string, string]; version?: string; filler?: string; placer?: string; observedAt?: string; observations?: Observation[] };

function laboratoryMessage(lab: Laboratory = {}): string {
  const [code, trigger] = lab.type ?? ['ORU', 'R01'];
  const builder = new HL7_2_5_1();
  builder.buildMSH({ msh_3: 'LIS', msh_4: 'LAB', msh_5: 'MEDICAL', msh_6: 'SEOUL_HOSP', msh_9_1: code, msh_9_2: trigger, msh_10: lab.controlId ?? 'LAB-7', msh_11_1: 'P' });
  builder.buildPID({ pid_3: '00000018', pid_5: '김민지' });
  builder.buildOBR({ obr_1: '1', obr_2: lab.placer ?? 'P-1', obr_3: lab.filler ?? '101', obr_4: 'CBC^Complete blood count^L', obr_7: lab.observedAt ?? '' });
  const observations = lab.observations ?? [{ value: 'No active lung lesion' }];
  observations.forEach((o, index) => {
    builder.buildOBX({
      obx_1: String(index + 1), obx_2: o.type ?? 'TX', obx_3: o.code ?? 'CHEST_XRAY^Chest X-ray^L', obx_5: o.value,
      obx_6: o.unit ?? '', obx_7: o.range ?? '', obx_8: o.flag ?? '', obx_11: o.status ?? 'F', obx_14: o.observedAt ?? '',
    });
  });
  const message = builder.toMessage();
  // The builder stamps its own version, and a control id of its own for an empty one: a sender of
  // another version, or of none, is what the header's checks are for.
  if (lab.version !== undefined) message.set('MSH.12', lab.version);
  if (lab.controlId === '') message.set('MSH.10', '');
  return message.toString();
}

function refused(text: string): Refusal {
  const read = readResult(text, { timeZone: 'Asia/Seoul' });
  assert.equal(read.ok, false, 'refused');
  return read as Refusal;
}

describe('readResult: an ORU^R01 from a laboratory', () => {
  test('the examination, the prescription, the patient, the result and when it was observed', () => {
    const read = readResult(laboratoryMessage({ observations: [{ value: 'No active lung lesion', observedAt: '20261207093000+0900' }] }));
    assert.deepEqual(read, {
      ok: true,
      result: { controlId: 'LAB-7', examinationId: 101, prescriptionId: 'P-1', patientId: '00000018', result: 'No active lung lesion', performedAt: '2026-12-07T00:30:00.000Z' },
    });
  });

  test('escaped delimiters, FT line breaks and repetitions come out as the text written, the OBXs a line each', () => {
    const read = readResult(
      laboratoryMessage({
        observations: [
          { value: 'Heart \\F\\ lungs \\S\\ normal \\T\\ \\E\\ \\R\\', type: 'TX' },
          { value: 'line 2\\.br\\line 3', type: 'FT' },
          { value: 'line 4~line 5', type: 'ST' },
        ],
      }),
    );
    assert.ok(read.ok);
    assert.equal(read.result.result, 'Heart | lungs ^ normal & \\ ~\nline 2\nline 3\nline 4\nline 5');
  });

  test("a laboratory's values each with what was measured, its unit, range and flag", () => {
    const read = readResult(
      laboratoryMessage({
        observations: [
          { type: 'NM', code: '6690-2^WBC^LN', value: '11.2', unit: '10*3/uL', range: '4.0-10.0', flag: 'H' },
          { type: 'NM', code: '718-7^Hemoglobin^LN', value: '13.5', unit: 'g/dL', range: '12.0-16.0', flag: 'N' },
          { type: 'SN', code: '5196-1^HBsAg^LN', value: '<^0.5' },
          { type: 'CWE', code: '5778-6^Color^LN', value: 'Y^Yellow^L' },
        ],
      }),
    );
    assert.ok(read.ok);
    assert.equal(read.result.result, 'WBC: 11.2 10*3/uL (4.0-10.0) [H]\nHemoglobin: 13.5 g/dL (12.0-16.0)\nHBsAg: <0.5\nColor: Yellow');
  });

  test('a time without an offset is read in the zone given; OBR-7 when no OBX has one', () => {
    const read = readResult(laboratoryMessage({ observedAt: '20261207091500' }), { timeZone: 'Asia/Seoul' });
    assert.ok(read.ok);
    assert.equal(read.result.performedAt, '2026-12-07T00:15:00.000Z');
    const none = readResult(laboratoryMessage());
    assert.ok(none.ok);
    assert.equal(none.result.performedAt, undefined);
  });

  test('a result as long as the examination service takes is taken', () => {
    const read = readResult(laboratoryMessage({ observations: [{ value: '가'.repeat(10_000) }] }));
    assert.ok(read.ok);
    assert.equal([...read.result.result].length, 10_000);
  });
});

describe('readResult: rejected (AR) when it is not an ORU^R01 to read', () => {
  const cases: [string, string, RegExp, string][] = [
    ['not HL7 at all', 'hello, world', /MSH \(message header\) is missing/, '100'],
    ['an empty frame', '', /MSH \(message header\) is missing/, '100'],
    ['a garbled MSH', 'MSH|^~|LIS|LAB', /MSH-1 and MSH-2 .* garbled/, '102'],
    ['no control id', laboratoryMessage({ controlId: '' }), /MSH-10 \(message control id\) is missing/, '101'],
    ['an ADT', laboratoryMessage({ type: ['ADT', 'A04'] }), /MSH-9 \(message type\) is "ADT\^A04": this listener takes ORU\^R01 results only/, '200'],
    ['an ORU of another event', laboratoryMessage({ type: ['ORU', 'R30'] }), /MSH-9 \(message type\) is "ORU\^R30"/, '201'],
    ['an unsupported version', laboratoryMessage({ version: '2.1' }), /MSH-12 \(version id\) "2\.1" is not supported/, '203'],
    ['bytes that were not UTF-8', `${laboratoryMessage()}\rNTE|1||\uFFFD`, /not UTF-8/, '102'],
  ];
  for (const [name, text, reason, error] of cases) {
    test(name, () => {
      const refusal = refused(text);
      assert.equal(refusal.code, 'AR');
      assert.match(refusal.reason, reason);
      assert.equal(refusal.error, error);
    });
  }
});

describe('readResult: an application error (AE) when its content cannot be applied', () => {
  const cases: [string, Laboratory, RegExp][] = [
    ['no filler order number', { filler: '' }, /^OBR-3 \(filler order number\) is missing/],
    ['a filler order number that is not a number', { filler: 'LAB-55' }, /^OBR-3 \(filler order number\) "LAB-55" is not an examination id/],
    ['a filler order number of zero', { filler: '0' }, /^OBR-3 .* is not an examination id/],
    ['a filler order number past the safe integers', { filler: '99999999999999999' }, /^OBR-3 .* is not an examination id/],
    ['no OBX with a value', { observations: [{ value: '' }, { value: '' }] }, /^no OBX has a value in OBX-5/],
    ['no OBX at all', { observations: [] }, /^OBX \(observation\) is missing/],
    ['a result longer than the examination service takes', { observations: [{ value: '가'.repeat(10_001) }] }, /^the result \(OBX-5\) is 10001 characters long, more than the 10000/],
    ['a preliminary result', { observations: [{ value: 'pending read', status: 'P' }] }, /^OBX-11 \(observation result status\) of OBX 1 is "P": only final \(F\) and corrected \(C\)/],
    ['a value type not read as a result', { observations: [{ value: 'x', type: 'ED' }] }, /^OBX-2 \(value type\) of OBX 1 is "ED"/],
    ['an observation time that is not one', { observations: [{ value: 'x', observedAt: '20261399' }] }, /^OBX-14 \(date\/time of the observation\) of OBX 1 "20261399" is not an HL7 date and time/],
  ];
  for (const [name, lab, reason] of cases) {
    test(name, () => {
      const refusal = refused(laboratoryMessage(lab));
      assert.equal(refusal.code, 'AE');
      assert.match(refusal.reason, reason);
    });
  }

  test('a corrected result is applied like a final one', () => {
    assert.ok(readResult(laboratoryMessage({ observations: [{ value: 'corrected read', status: 'C' }] })).ok);
  });

  test('two OBRs: one examination per message', () => {
    const text = `${laboratoryMessage()}\rOBR|2||102|CBC^CBC^L`;
    assert.match(refused(text).reason, /2 OBR segments: send the result of one examination per message/);
  });
});

describe('acknowledgement', () => {
  const meta: AckMeta = { sender: { sendingApplication: 'MEDICAL', sendingFacility: 'SEOUL_HOSP' }, controlId: 'ack-9', timestamp: '2026-12-07T00:31:00.000Z' };
  const read = (text: string) => new Message({ text });

  test('AA: addressed back to the sender, MSA-2 its control id, no ERR', () => {
    const ack = read(acknowledgement(laboratoryMessage(), 'AA', undefined, meta));
    assert.equal(ack.get('MSH.3').toString(), 'MEDICAL');
    assert.equal(ack.get('MSH.5').toString(), 'LIS');
    assert.equal(ack.get('MSH.6').toString(), 'LAB');
    assert.equal(ack.get('MSH.7').toString(), '20261207003100+0000');
    assert.equal(ack.get('MSH.9.1').toString(), 'ACK');
    assert.equal(ack.get('MSH.9.2').toString(), 'R01');
    assert.equal(ack.get('MSH.10').toString(), 'ack-9');
    assert.equal(ack.get('MSA.1').toString(), 'AA');
    assert.equal(ack.get('MSA.2').toString(), 'LAB-7');
    assert.equal(ack.get('ERR.3.1').toString(), '');
  });

  test("AE: the refusal's reason, code and place in ERR, escaped where the reason holds a delimiter", () => {
    const text = laboratoryMessage({ filler: 'LAB\\F\\55' });
    const refusal = refused(text);
    assert.match(refusal.reason, /"LAB\|55"/);
    const ack = read(acknowledgement(text, refusal.code, refusal, meta));
    assert.equal(ack.get('MSA.1').toString(), 'AE');
    assert.equal(ack.get('MSA.2').toString(), 'LAB-7');
    assert.equal(ack.get('ERR.2.1').toString(), 'OBR');
    assert.equal(ack.get('ERR.2.3').toString(), '3');
    assert.equal(ack.get('ERR.3.1').toString(), '102');
    assert.equal(ack.get('ERR.3.3').toString(), 'HL70357');
    assert.equal(ack.get('ERR.4').toString(), 'E');
    assert.equal(ack.get('ERR.8').toString(), refusal.reason);
  });

  test('AE for what the examination service refused, in the caller’s words', () => {
    const ack = read(acknowledgement(laboratoryMessage(), 'AE', { reason: 'examination 101 is cancelled', error: '207' }, meta));
    assert.equal(ack.get('ERR.3.1').toString(), '207');
    assert.equal(ack.get('ERR.8').toString(), 'examination 101 is cancelled');
  });

  test('AR to a text with no MSH: answered all the same, MSA-2 empty', () => {
    const refusal = refused('hello, world');
    const ack = read(acknowledgement('hello, world', 'AR', refusal, meta));
    assert.equal(ack.get('MSH.9.1').toString(), 'ACK');
    assert.equal(ack.get('MSA.1').toString(), 'AR');
    assert.equal(ack.get('MSA.2').toString(), '');
    assert.equal(ack.get('ERR.3.1').toString(), '100');
    assert.match(ack.get('ERR.8').toString(), /MSH \(message header\) is missing/);
  });

  test('AR to a message that was not UTF-8 still answers its control id', () => {
    const text = `${laboratoryMessage({ controlId: 'EUC-KR-1' })}\rNTE|1||\uFFFD\uFFFD`;
    const ack = read(acknowledgement(text, 'AR', refused(text), meta));
    assert.equal(ack.get('MSA.2').toString(), 'EUC-KR-1');
    assert.equal(ack.get('ERR.2.3').toString(), '18');
  });

  test('AR to a version not read here still answers its control id', () => {
    const text = laboratoryMessage({ version: '2.1', controlId: 'OLD-1' });
    const ack = read(acknowledgement(text, 'AR', refused(text), meta));
    assert.equal(ack.get('MSA.2').toString(), 'OLD-1');
    assert.equal(ack.get('ERR.3.1').toString(), '203');
  });
});
