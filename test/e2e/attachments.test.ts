import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import {
  assertProblem,
  authHeaders,
  describeEachProfile,
  describeProduction,
  ok,
  useTestSystem,
  visitWithPendingExamination,
  type Client,
  type HttpReply,
  type TestSystem,
} from './helpers.ts';

/**
 * Examination attachments (issue 7) through the gateway on both profiles: upload (201, Location),
 * list, download byte for byte with its headers, and every refusal as problem+json. Uploads above
 * the API's 1 MiB body limit pass both the gateway (streamed) and the service. On the production
 * profile, two examination replicas share ATTACHMENTS_DIR (DATA_DIR/attachments) and the
 * database: what one stored, the other lists and serves.
 */

const MiB = 1024 * 1024;
/** Above the API's 1 MiB body limit, so that an upload near it proves the per-route limit. */
const MAX_BYTES = 3 * MiB;

type Attachment = { examinationId: number; name: string; filename: string; contentType: string; size: number; sha256: string; uploadedAt: string };

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A small PDF, padded to `size` bytes if asked (a PDF reader skips what follows %%EOF). */
function pdf(label: string, size = 0): Buffer {
  const body = Buffer.from(`%PDF-1.7\n% ${label} ${Date.now()} ${Math.random()}\ntrailer << >>\n%%EOF\n`, 'latin1');
  return size > body.length ? Buffer.concat([body, Buffer.alloc(size - body.length, 0x20)]) : body;
}

const jpeg = (label: string) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from(`JFIF ${label} ${Math.random()}`)]);

type Reply = { status: number; headers: Headers; text: string; bytes: Buffer; body: any; request: string };

/** Uploads through fetch (FormData, so a Content-Length); answers like the e2e Client does. */
async function upload(baseUrl: string, examinationId: number, part: { bytes: Buffer; type?: string; filename?: string; field?: string } | FormData): Promise<Reply> {
  let form: FormData;
  if (part instanceof FormData) form = part;
  else {
    form = new FormData();
    form.append(part.field ?? 'file', new Blob([new Uint8Array(part.bytes)], { type: part.type ?? 'application/pdf' }), part.filename ?? 'report.pdf');
  }
  const path = `/examinations/${examinationId}/attachments`;
  return toReply(`POST ${path}`, await fetch(`${baseUrl}${path}`, { method: 'POST', body: form, headers: await authHeaders('POST', path), signal: AbortSignal.timeout(30_000) }));
}

async function toReply(request: string, response: Response): Promise<Reply> {
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  let body: unknown = text;
  if (/json/.test(response.headers.get('content-type') ?? '')) body = JSON.parse(text);
  return { status: response.status, headers: response.headers, text, bytes, body, request };
}

/**
 * A request sent exactly as written: fetch would resolve "..", "%2e%2e" and the like first. It
 * goes as the examiner (allowed on every attachment route), whatever the path's segments decode to.
 */
async function raw(baseUrl: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer; chunks?: Buffer[] } = {}): Promise<Reply> {
  const { hostname, port } = new URL(baseUrl);
  const headers = { ...(await authHeaders(method, path, 'examiner')), ...options.headers };
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
        let body: unknown = text;
        if (/json/.test(headers.get('content-type') ?? '')) body = JSON.parse(text);
        resolve({ status: response.statusCode!, headers, text, bytes, body, request: `${method} ${path}` });
      });
    });
    request.on('error', reject);
    if (options.chunks) {
      // No Content-Length: Transfer-Encoding: chunked, one write per chunk.
      for (const chunk of options.chunks) request.write(chunk);
      request.end();
    } else request.end(options.body);
  });
}

/** A multipart body written by hand: what FormData will not send (a path as the file name). */
function multipart(filename: string, type: string, bytes: Buffer, boundary = 'e2e-boundary-7'): { body: Buffer; headers: Record<string, string> } {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) } };
}

const problem = (reply: Reply, status: number, context?: string) => assertProblem(reply as unknown as HttpReply, status, context ? { context } : {});

/** A visit up to an examination the examiner can attach files to. */
async function newExamination(client: Client, label: string): Promise<number> {
  return (await visitWithPendingExamination(client, 'CT_HEAD', { patientName: `Attachment patient ${label}` })).examination.id;
}

async function assertDownload(baseUrl: string, attachment: Attachment, bytes: Buffer): Promise<void> {
  const path = `/examinations/${attachment.examinationId}/attachments/${attachment.name}`;
  const reply = await toReply(`GET ${path}`, await fetch(`${baseUrl}${path}`, { headers: await authHeaders('GET', path) }));
  assert.equal(reply.status, 200, `${reply.request}: ${reply.text.slice(0, 300)}`);
  assert.ok(reply.bytes.equals(bytes), `${reply.request}: the bytes should be those uploaded (${reply.bytes.length} vs ${bytes.length})`);
  assert.equal(reply.headers.get('content-type'), attachment.contentType);
  assert.equal(reply.headers.get('content-length'), String(bytes.length));
  assert.equal(reply.headers.get('x-content-type-options'), 'nosniff');
  assert.match(reply.headers.get('content-disposition') ?? '', /^attachment; filename="[A-Za-z0-9._ -]+"; filename\*=UTF-8''[^\s"]+$/);
  assert.equal(reply.headers.get('etag'), `"${sha256(bytes)}"`);
}

describeEachProfile((profile) => {
  let running: TestSystem;
  let client: Client;
  let gateway: string;
  let examinationId: number;

  useTestSystem(
    'attachments',
    profile,
    async (system) => {
      running = system;
      client = system.client;
      gateway = system.system.gatewayUrl;
      examinationId = await newExamination(client, 'main');
    },
    { env: { ATTACHMENT_MAX_BYTES: String(MAX_BYTES) } },
  );

  test('upload through the gateway (201, Location), list, download byte for byte with its headers', async () => {
    const bytes = pdf('report');
    const reply = await upload(gateway, examinationId, { bytes, filename: '검사 결과 (CT).pdf' });
    const created = ok(reply as unknown as HttpReply<Attachment>, 201, 'upload');
    assert.match(created.name, /^[0-9a-f]{32}\.pdf$/);
    assert.equal(reply.headers.get('location'), `/examinations/${examinationId}/attachments/${created.name}`);
    assert.equal(created.filename, '검사 결과 (CT).pdf');
    assert.equal(created.contentType, 'application/pdf');
    assert.equal(created.size, bytes.length);
    assert.equal(created.sha256, sha256(bytes));

    const image = jpeg('scan');
    const second = ok((await upload(gateway, examinationId, { bytes: image, type: 'image/jpeg', filename: 'scan.jpeg' })) as unknown as HttpReply<Attachment>, 201);

    const list = ok(await client.get<{ items: Attachment[]; total: number }>(`/examinations/${examinationId}/attachments`));
    assert.equal(list.total, 2);
    assert.deepEqual(list.items.map((a) => a.name).sort(), [created.name, second.name].sort());
    await assertDownload(gateway, created, bytes);
    await assertDownload(gateway, second, image);

    // The same bytes again (a retried upload): the attachment already there, not a copy.
    const again = await upload(gateway, examinationId, { bytes, filename: 'again.pdf' });
    assert.equal(again.status, 200, again.text);
    assert.equal((again.body as Attachment).name, created.name);
    assert.equal(ok(await client.get(`/examinations/${examinationId}/attachments`)).total, 2);

    // Uploading changes nothing of the examination.
    assert.equal(ok(await client.get(`/examinations/${examinationId}`)).status, 'REQUESTED');
  });

  test('uploads above the API\'s 1 MiB limit pass the gateway, streamed, also with no Content-Length', async () => {
    const bytes = pdf('large', MAX_BYTES);
    const reply = await upload(gateway, examinationId, { bytes, filename: 'large.pdf' });
    const created = ok(reply as unknown as HttpReply<Attachment>, 201, 'an upload of exactly ATTACHMENT_MAX_BYTES');
    await assertDownload(gateway, created, bytes);

    const chunkedBytes = pdf('chunked', 2 * MiB);
    const { body, headers } = multipart('chunked.pdf', 'application/pdf', chunkedBytes);
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 256 * 1024) chunks.push(body.subarray(at, at + 256 * 1024));
    const chunked = await raw(gateway, 'POST', `/examinations/${examinationId}/attachments`, { headers: { 'content-type': headers['content-type']! }, chunks });
    assert.equal(chunked.status, 201, chunked.text);
    await assertDownload(gateway, chunked.body as Attachment, chunkedBytes);
  });

  test('too large: 413 from the service (the file) and from the gateway (the declared body)', async () => {
    await problem(await upload(gateway, examinationId, { bytes: pdf('too large', MAX_BYTES + 1) }), 413, 'one byte over');
    const { body, headers } = multipart('huge.pdf', 'application/pdf', pdf('huge', MAX_BYTES + 512 * 1024));
    await problem(await raw(gateway, 'POST', `/examinations/${examinationId}/attachments`, { headers, body }), 413, 'a body over the limit');
  });

  test('wrong types: 415 for a type not allowed, for bytes that are not what they claim, and for a body that is not multipart', async () => {
    await problem(await upload(gateway, examinationId, { bytes: Buffer.from('<html><body>hi</body></html>'), type: 'text/html', filename: 'x.html' }), 415, 'html');
    await problem(await upload(gateway, examinationId, { bytes: Buffer.from('<html><script>alert(1)</script></html>'), type: 'application/pdf', filename: 'x.pdf' }), 415, 'html posing as a PDF');
    await problem(await upload(gateway, examinationId, { bytes: pdf('pdf posing as png'), type: 'image/png', filename: 'x.png' }), 415, 'a PDF posing as a PNG');
    await problem((await client.post(`/examinations/${examinationId}/attachments`, { file: 'JVBERi0=' })) as unknown as Reply, 415, 'JSON');
    await problem((await client.request('POST', `/examinations/${examinationId}/attachments`, { body: 'x', headers: { 'content-type': 'text/plain' } })) as unknown as Reply, 415, 'text');
  });

  test('no file, two files, an unknown examination: 400, 400, 404; nothing stored', async () => {
    await problem(await upload(gateway, examinationId, new FormData()), 400, 'an empty form');
    const note = new FormData();
    note.append('note', 'no file here');
    await problem(await upload(gateway, examinationId, note), 400, 'a field only');
    const two = new FormData();
    two.append('file', new Blob([new Uint8Array(pdf('one'))], { type: 'application/pdf' }), 'one.pdf');
    two.append('file', new Blob([new Uint8Array(pdf('two'))], { type: 'application/pdf' }), 'two.pdf');
    await problem(await upload(gateway, examinationId, two), 400, 'two files');
    await problem(await upload(gateway, 999_999, { bytes: pdf('nobody') }), 404, 'unknown examination');
    await problem((await client.get('/examinations/999999/attachments')) as unknown as Reply, 404, 'list of an unknown examination');
    await problem((await client.get(`/examinations/${examinationId}/attachments/${'0'.repeat(32)}.pdf`)) as unknown as Reply, 404, 'unknown attachment');
  });

  test('path traversal: 400 on upload (the file name) and on download (the name), however it is encoded', async () => {
    const before = ok(await client.get(`/examinations/${examinationId}/attachments`)).total;
    for (const filename of ['../../../etc/passwd', '..', '/etc/passwd', '..\\..\\windows\\system.ini', '..%2F..%2Fx.pdf', '%2e%2e%2f%2e%2e', '%252e%252e%252fx.pdf', 'C:\\x.pdf', 'report.pdf%00.html']) {
      const { body, headers } = multipart(filename, 'application/pdf', pdf(`traversal ${filename}`));
      await problem(await raw(gateway, 'POST', `/examinations/${examinationId}/attachments`, { headers, body }), 400, `upload named ${filename}`);
    }
    assert.equal(ok(await client.get(`/examinations/${examinationId}/attachments`)).total, before, 'no refused upload is listed');

    for (const name of ['..', '%2e%2e', '..%2f..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%5c..%5cwindows', '..%252f..%252fetc%252fpasswd', '%00', `${'0'.repeat(32)}.pdf%00`, '%2fetc%2fpasswd', 'passwd', `..%2f${examinationId}%2f${'0'.repeat(32)}.pdf`]) {
      await problem(await raw(gateway, 'GET', `/examinations/${examinationId}/attachments/${name}`), 400, `download ${name}`);
    }
    // Straight to the service too, where the gateway cannot have normalized anything.
    const service = running.system.replicasOf('examination')[0]!.url;
    for (const path of [`/examinations/${examinationId}/attachments/../../../etc/passwd`, `/examinations/${examinationId}/attachments/..%2f..%2fetc%2fpasswd`, `/examinations/${examinationId}/attachments/a/b`]) {
      await problem(await raw(service, 'GET', path), 400, `service ${path}`);
    }
  });
});

describeProduction('production: attachments on two examination replicas sharing ATTACHMENTS_DIR', () => {
  let running: TestSystem;
  useTestSystem(
    'attachments-replicas',
    'production',
    (system) => {
      running = system;
    },
    { replicas: { examination: 2 } },
  );

  test('uploaded through one replica, listed and downloaded through the other; the same bytes from both at once are one attachment', async () => {
    const [first, second] = running.system.replicasOf('examination');
    assert.ok(first && second && first.url !== second.url, 'two examination replicas');
    const examinationId = await newExamination(running.client, 'replicas');

    const bytes = pdf('replicas', 1536 * 1024);
    const created = ok((await upload(first.url, examinationId, { bytes, filename: 'replica-0.pdf' })) as unknown as HttpReply<Attachment>, 201);
    const list = ok((await toReply('GET list', await fetch(`${second.url}/examinations/${examinationId}/attachments`, { headers: await authHeaders('GET', '/examinations/0/attachments') }))) as unknown as HttpReply<{ items: Attachment[] }>);
    assert.deepEqual(list.items, [created]);
    await assertDownload(second.url, created, bytes);

    const same = pdf('both at once');
    const [a, b] = await Promise.all([
      upload(first.url, examinationId, { bytes: same, filename: 'a.pdf' }),
      upload(second.url, examinationId, { bytes: same, filename: 'b.pdf' }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201], `${a.text} / ${b.text}`);
    assert.equal((a.body as Attachment).name, (b.body as Attachment).name);
    const after = ok((await toReply('GET list', await fetch(`${first.url}/examinations/${examinationId}/attachments`, { headers: await authHeaders('GET', '/examinations/0/attachments') }))) as unknown as HttpReply<{ items: Attachment[] }>);
    assert.equal(after.items.length, 2);
    await assertDownload(first.url, a.body as Attachment, same);
    await assertDownload(second.url, a.body as Attachment, same);
  });
});
