import net from 'node:net';
import Hl7Client, { HL7_2_5_1, Message, type InboundResponse } from 'node-hl7-client';
import { Server } from 'node-hl7-server';

/**
 * The hospital's other HL7 v2 systems, played by an independent library: node-hl7-server as the
 * interface engine that takes this system's messages over MLLP, node-hl7-client as a laboratory
 * that sends it results.
 */

/** What a test reads of a message: its fields by path (`PID.3.1`), as node-hl7 reads them. */
type Fields = { get(path: string): { toString(): string } };
export type ReceivedMessage = { type: string; controlId: string; message: Fields; acknowledged: 'AA' | 'AE' };

/** An interface engine: acknowledges every message AA, except the next `nak` ones, answered AE. */
export class InterfaceEngine {
  readonly received: ReceivedMessage[] = [];
  nak = 0;
  private inbound: ReturnType<Server['createInbound']> | undefined;

  async start(port: number): Promise<void> {
    this.inbound = new Server({ bindAddress: '127.0.0.1' }).createInbound({ port }, async (request, response) => {
      const message = request.getMessage();
      const acknowledged = this.nak > 0 ? 'AE' : 'AA';
      if (acknowledged === 'AE') this.nak -= 1;
      this.received.push({ type: `${message.get('MSH.9.1').toString()}^${message.get('MSH.9.2').toString()}`, controlId: message.get('MSH.10').toString(), message, acknowledged });
      await response.sendResponse(acknowledged);
    });
    await new Promise((resolve) => this.inbound!.once('listen', resolve));
  }

  async stop(): Promise<void> {
    await this.inbound?.close();
  }

  /** The messages about one visit (PV1-19, its visit number), in the order they came. */
  ofVisit(receptionId: number): ReceivedMessage[] {
    return this.received.filter((r) => r.message.get('PV1.19').toString() === String(receptionId));
  }
}

export type LaboratoryResult = { controlId: string; patientId: string; examinationId: string; placer?: string; value: string };

/** An ORU^R01 as a laboratory's system writes it, with node-hl7-client's builder. */
export function laboratoryResult(result: LaboratoryResult): string {
  const builder = new HL7_2_5_1();
  builder.buildMSH({ msh_3: 'LIS', msh_4: 'LAB', msh_5: 'MEDICAL', msh_6: 'HOSPITAL', msh_9_1: 'ORU', msh_9_2: 'R01', msh_10: result.controlId, msh_11_1: 'P' });
  builder.buildPID({ pid_3: result.patientId, pid_5: '김민지' });
  builder.buildOBR({ obr_1: '1', obr_2: result.placer ?? '', obr_3: result.examinationId, obr_4: 'CBC^Complete blood count^L' });
  builder.buildOBX({ obx_1: '1', obx_2: 'TX', obx_3: 'CBC^Complete blood count^L', obx_5: result.value, obx_11: 'F' });
  return builder.toMessage().toString();
}

/** A laboratory connected to this system's MLLP listener: sends a message and waits for its ACK. */
export class Laboratory {
  private readonly acks: Message[] = [];
  private told: (() => void) | undefined;
  private readonly connection: ReturnType<Hl7Client['createConnection']>;

  constructor(port: number) {
    const client = new Hl7Client({ host: '127.0.0.1', version: '2.5.1' });
    this.connection = client.createConnection({ port, version: '2.5.1' }, (response: InboundResponse) => {
      this.acks.push(response.getMessage());
      this.told?.();
    });
  }

  /** Sends `text` and answers the ACK: MSA-1, MSA-2 and the reason (ERR-8). */
  async send(text: string): Promise<{ code: string; controlId: string; reason: string }> {
    const before = this.acks.length;
    await this.connection.sendMessage(new Message({ text }));
    while (this.acks.length <= before) await new Promise<void>((resolve) => (this.told = resolve));
    const ack = this.acks[before]!;
    return { code: ack.get('MSA.1').toString(), controlId: ack.get('MSA.2').toString(), reason: ack.get('ERR.8').toString() };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * Bytes no HL7 library would send (node-hl7-client refuses a message that is not one): framed by
 * hand as MLLP frames them, and the ACK they get.
 */
export async function sendRawFrame(port: number, text: string): Promise<{ code: string; controlId: string; reason: string }> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    const answer = new Promise<string>((resolve, reject) => {
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        const end = received.indexOf('\x1c\r');
        if (end >= 0) resolve(received.slice(received.indexOf('\x0b') + 1, end));
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('the listener closed the connection without an ACK')));
    });
    socket.write(`\x0b${text}\x1c\r`);
    const ack = new Message({ text: await answer });
    return { code: ack.get('MSA.1').toString(), controlId: ack.get('MSA.2').toString(), reason: ack.get('ERR.8').toString() };
  } finally {
    socket.destroy();
  }
}
