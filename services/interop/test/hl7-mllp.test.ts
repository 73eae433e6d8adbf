import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Client, { HL7_2_5_1, Message, type InboundResponse } from 'node-hl7-client';
import { Server } from 'node-hl7-server';
import { freePort } from '../../../scripts/lib/processes.ts';
import type { EncounterRecord, PatientRecord } from '../src/fhir/index.ts';
import { acknowledgement, MllpError, readResult, registrationMessage, sendOverMllp, startMllpListener, type AckMeta } from '../src/hl7/index.ts';
import { frameOf, frameReader } from '../src/hl7/mllp-framing.ts';

// The other end of every connection here is node-hl7-server (the interface engine receiving our
// messages) or node-hl7-client (a laboratory sending its results): MLLP as another library speaks it.

const host = '127.0.0.1';
const parties = { sendingApplication: 'MEDICAL', sendingFacility: 'SEOUL_HOSP', receivingApplication: 'ENGINE', receivingFacility: 'SEOUL_HOSP' };
const patient: PatientRecord = { patientId: '00000018', name: '김민지', updatedAt: '2026-12-07T00:00:00.000Z' };
const encounter: EncounterRecord = { receptionId: 7, patientId: '00000018', stage: 'RECEIVED', department: 'internal-medicine', receivedAt: '2026-12-07T00:00:00.000Z', updatedAt: '2026-12-07T00:00:00.000Z' };
const admission = (controlId: string) => registrationMessage(patient, encounter, { parties, controlId, timestamp: '2026-12-07T00:00:01.000Z' });

const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('frameReader', () => {
  const message = 'MSH|^~\\&|A\rPID|1||김민지';

  test('frames however the chunks cut them, bytes between frames skipped', () => {
    const stream = Buffer.concat([Buffer.from('noise'), frameOf(message), Buffer.from('\n'), frameOf('second')]);
    const reader = frameReader();
    const read = [...stream].flatMap((byte) => reader.push(Buffer.of(byte)));
    assert.deepEqual(read, [message, 'second']);
    assert.deepEqual(frameReader().push(stream), [message, 'second']);
  });

  test('an end block not followed by a carriage return is content', () => {
    assert.deepEqual(frameReader().push(Buffer.from('\x0ba\x1cb\x1c\r')), ['a\x1cb']);
  });

  test('a frame past the limit throws, ended or not', () => {
    assert.throws(() => frameReader(10).push(Buffer.from(`\x0b${'x'.repeat(11)}`)), { name: 'FrameTooLargeError' });
    assert.throws(() => frameReader(10).push(frameOf('x'.repeat(11))), { name: 'FrameTooLargeError' });
    assert.deepEqual(frameReader(10).push(frameOf('x'.repeat(10))), ['x'.repeat(10)]);
  });
});

/** node-hl7-server as the interface engine: answers every message with `code`, and keeps the control ids it got. */
async function interfaceEngine(code: 'AA' | 'AE'): Promise<{ port: number; received: string[] }> {
  const port = await freePort();
  const received: string[] = [];
  const inbound = new Server({ bindAddress: host }).createInbound({ port }, async (req, res) => {
    received.push(req.getMessage().get('MSH.10').toString());
    await res.sendResponse(code);
  });
  await new Promise((resolve) => inbound.once('listen', resolve));
  cleanups.push(() => inbound.close());
  return { port, received };
}

/** A plain TCP server that runs `onConnection` for each connection: one that never answers, or answers what a test needs. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => sockets.add(socket));
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return (server.address() as net.AddressInfo).port;
}

describe('sendOverMllp to an interface engine', () => {
  test('an engine that accepts: AA', async () => {
    const engine = await interfaceEngine('AA');
    const answer = await sendOverMllp({ host, port: engine.port, timeoutMs: 2000 }, admission('delivery-1'));
    assert.equal(answer.code, 'AA');
    assert.match(answer.ack, /^MSH\|.*\rMSA\|AA\|delivery-1/);
    assert.deepEqual(engine.received, ['delivery-1']);
  });

  test('an engine that refuses: AE, resolved for the caller to decide', async () => {
    const engine = await interfaceEngine('AE');
    const answer = await sendOverMllp({ host, port: engine.port, timeoutMs: 2000 }, admission('delivery-2'));
    assert.equal(answer.code, 'AE');
  });

  test("the ACK of another message is passed over; the reason of a NAK is the ACK's ERR-8", async () => {
    const port = await tcpServer((socket) => {
      socket.on('data', () => {
        socket.write(frameOf('MSH|^~\\&|ENGINE||MEDICAL||20261207||ACK|x1|P|2.5.1\rMSA|AA|delivery-0'));
        socket.write(frameOf('MSH|^~\\&|ENGINE||MEDICAL||20261207||ACK|x2|P|2.5.1\rMSA|AR|delivery-3\rERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 \\F\\ is missing'));
      });
    });
    const answer = await sendOverMllp({ host, port, timeoutMs: 2000 }, admission('delivery-3'));
    assert.equal(answer.code, 'AR');
    assert.equal(answer.text, 'PID-3 | is missing');
  });

  test('a message without a control id is not sent: its ACK could not be told from another', async () => {
    await assert.rejects(sendOverMllp({ host, port: 1, timeoutMs: 100 }, 'PID|1'), (error: unknown) => error instanceof MllpError && error.kind === 'protocol');
  });

  test('an engine that never answers: a timeout', async () => {
    const port = await tcpServer(() => {});
    const started = Date.now();
    await assert.rejects(sendOverMllp({ host, port, timeoutMs: 300 }, admission('delivery-4')), (error: unknown) => error instanceof MllpError && error.kind === 'timeout');
    assert.ok(Date.now() - started >= 290);
  });

  test('no engine at all: a connection error', async () => {
    const port = await freePort();
    await assert.rejects(sendOverMllp({ host, port, timeoutMs: 2000 }, admission('delivery-5')), (error: unknown) => error instanceof MllpError && error.kind === 'connection');
  });

  test('an engine that hangs up before answering: a connection error, not a wait for the timeout', async () => {
    const port = await tcpServer((socket) => socket.on('data', () => socket.destroy()));
    await assert.rejects(sendOverMllp({ host, port, timeoutMs: 5000 }, admission('delivery-6')), (error: unknown) => error instanceof MllpError && error.kind === 'connection');
  });
});

describe('startMllpListener receiving results', () => {
  const meta: AckMeta = { sender: { sendingApplication: 'MEDICAL', sendingFacility: 'SEOUL_HOSP' }, controlId: 'ack-1', timestamp: '2026-12-07T00:31:00.000Z' };
  async function answer(text: string): Promise<string> {
    const read = readResult(text);
    return read.ok ? acknowledgement(text, 'AA', undefined, meta) : acknowledgement(text, read.code, read, meta);
  }

  function laboratoryResult(controlId: string): Message {
    const builder = new HL7_2_5_1();
    builder.buildMSH({ msh_3: 'LIS', msh_4: 'LAB', msh_5: 'MEDICAL', msh_6: 'SEOUL_HOSP', msh_9_1: 'ORU', msh_9_2: 'R01', msh_10: controlId, msh_11_1: 'P' });
    builder.buildOBR({ obr_1: '1', obr_3: '101', obr_4: 'CBC^Complete blood count^L' });
    builder.buildOBX({ obx_1: '1', obx_2: 'TX', obx_3: 'CBC^Complete blood count^L', obx_5: 'Within normal limits', obx_11: 'F' });
    return builder.toMessage();
  }

  function laboratoryAdmission(controlId: string): Message {
    const builder = new HL7_2_5_1();
    builder.buildMSH({ msh_3: 'LIS', msh_4: 'LAB', msh_5: 'MEDICAL', msh_6: 'SEOUL_HOSP', msh_9_1: 'ADT', msh_9_2: 'A04', msh_10: controlId, msh_11_1: 'P' });
    builder.buildPID({ pid_3: '00000018', pid_5: '김민지' });
    return builder.toMessage();
  }

  /** Reads ACK frames off a raw socket, one promise per frame. */
  function acksOf(socket: net.Socket): () => Promise<string> {
    const reader = frameReader();
    const frames: string[] = [];
    const waiting: ((frame: string) => void)[] = [];
    socket.on('data', (chunk) => {
      for (const frame of reader.push(chunk)) {
        const waiter = waiting.shift();
        if (waiter) waiter(frame);
        else frames.push(frame);
      }
    });
    return () => (frames.length > 0 ? Promise.resolve(frames.shift() as string) : new Promise((resolve) => waiting.push(resolve)));
  }

  async function connect(port: number): Promise<net.Socket> {
    const socket = net.connect(port, host);
    await new Promise((resolve) => socket.once('connect', resolve));
    cleanups.push(() => socket.destroy());
    return socket;
  }

  test('node-hl7-client gets AA for its ORU, then AR for an ADT on the same connection', async () => {
    const listener = await startMllpListener({ host, port: 0 }, answer);
    cleanups.push(() => listener.close());
    const acks: Message[] = [];
    let told: (() => void) | undefined;
    const client = new Client({ host, version: '2.5.1' });
    const connection = client.createConnection({ port: listener.port, version: '2.5.1' }, (res: InboundResponse) => {
      acks.push(res.getMessage());
      told?.();
    });
    cleanups.push(() => connection.close());
    const ackNumber = async (n: number) => {
      while (acks.length < n) await new Promise<void>((resolve) => (told = resolve));
      return acks[n - 1] as Message;
    };

    await connection.sendMessage(laboratoryResult('LAB-1'));
    const first = await ackNumber(1);
    assert.equal(first.get('MSA.1').toString(), 'AA');
    assert.equal(first.get('MSA.2').toString(), 'LAB-1');

    await connection.sendMessage(laboratoryAdmission('LAB-2'));
    const second = await ackNumber(2);
    assert.equal(second.get('MSA.1').toString(), 'AR');
    assert.equal(second.get('MSA.2').toString(), 'LAB-2');
    assert.match(second.get('ERR.8').toString(), /MSH-9 \(message type\) is "ADT\^A04"/);
  });

  test('garbage gets an AR with no control id, and the connection goes on', async () => {
    const listener = await startMllpListener({ host, port: 0 }, answer);
    cleanups.push(() => listener.close());
    const socket = await connect(listener.port);
    const nextAck = acksOf(socket);
    socket.write(Buffer.concat([Buffer.from([0xff, 0x00, 0x0d]), frameOf('\x00\xff not hl7 |||')]));
    const garbage = new Message({ text: await nextAck() });
    assert.equal(garbage.get('MSA.1').toString(), 'AR');
    assert.equal(garbage.get('MSA.2').toString(), '');
    socket.write(frameOf(laboratoryResult('LAB-3').toString()));
    assert.equal(new Message({ text: await nextAck() }).get('MSA.1').toString(), 'AA');
  });

  test('two messages sent at once are answered in order, the slow first one first', async () => {
    const listener = await startMllpListener({ host, port: 0 }, async (text) => {
      if (text.includes('|SLOW|')) await sleep(150);
      return answer(text);
    });
    cleanups.push(() => listener.close());
    const socket = await connect(listener.port);
    const nextAck = acksOf(socket);
    socket.write(Buffer.concat([frameOf(laboratoryResult('SLOW').toString()), frameOf(laboratoryResult('FAST').toString())]));
    assert.equal(new Message({ text: await nextAck() }).get('MSA.2').toString(), 'SLOW');
    assert.equal(new Message({ text: await nextAck() }).get('MSA.2').toString(), 'FAST');
  });

  test('a frame over the limit closes its connection, and the listener serves the next one', async () => {
    const errors: Error[] = [];
    const listener = await startMllpListener({ host, port: 0, maxFrameBytes: 1024, onError: (error) => errors.push(error) }, answer);
    cleanups.push(() => listener.close());
    const socket = await connect(listener.port);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.write(Buffer.concat([Buffer.of(0x0b), Buffer.alloc(4096, 'x')]));
    await closed;
    assert.equal(errors[0]?.name, 'FrameTooLargeError');
    const again = await connect(listener.port);
    const nextAck = acksOf(again);
    again.write(frameOf(laboratoryResult('LAB-4').toString()));
    assert.equal(new Message({ text: await nextAck() }).get('MSA.1').toString(), 'AA');
  });

  test('a handler that throws closes its connection without an ACK; the process goes on', async () => {
    const errors: Error[] = [];
    const listener = await startMllpListener({ host, port: 0, onError: (error) => errors.push(error) }, async () => {
      throw new Error('database down');
    });
    cleanups.push(() => listener.close());
    const socket = await connect(listener.port);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(frameOf(laboratoryResult('LAB-5').toString()));
    await closed;
    assert.equal(errors[0]?.message, 'database down');
  });
});
