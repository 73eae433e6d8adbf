import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startService, type RunningService, type ServiceContext } from '@medical/platform';
import { examinationService } from '../src/service.ts';
import { examinationRoutes } from '../src/http/routes.ts';
import { saveExamination } from '../src/db/repository.ts';
import type { ExaminationDatabase } from '../src/db/schema.ts';
import { contentDisposition, fileNameProblem, matchesSignature } from '../src/attachments/files.ts';
import { loadAttachmentSettings } from '../src/attachments/settings.ts';
import { startDevIssuer, type DevIssuer } from '../../../packages/platform/test/helpers.ts';

/**
 * Examination attachments on one examination service (embedded profile, in process): upload,
 * list, download, and every refusal, as problem+json. The end-to-end test
 * (test/e2e/attachments.test.ts) does the same through the gateway, and across replicas.
 */

const MAX_BYTES = 256 * 1024;

const pdf = (text = 'report'): Buffer => Buffer.from(`%PDF-1.7\n% ${text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n`, 'latin1');
const png = (): Buffer =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('0000000dIHDR-not-a-real-image', 'latin1')]);

function form(parts: Array<{ field?: string; bytes?: Buffer; type?: string; filename?: string; text?: string }>): FormData {
  const body = new FormData();
  for (const part of parts) {
    if (part.text !== undefined) body.append(part.field ?? 'note', part.text);
    else body.append(part.field ?? 'file', new Blob([new Uint8Array(part.bytes!)], { type: part.type ?? 'application/pdf' }), part.filename ?? 'report.pdf');
  }
  return body;
}

/** A request sent exactly as written (fetch would normalize "..", "%2e%2e" and the like). */
/** The examiner's Authorization header, once the test issuer runs: every request below sends it. */
let examinerAuthorization: Record<string, string> = {};

function raw(url: string, method: string, requestPath: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path: requestPath, headers: { ...examinerAuthorization, ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A multipart body written by hand, for what FormData cannot say (a path as a file name, say). */
function handMade(filename: string, type: string, bytes: Buffer, boundary = 'b0undary'): { body: Buffer; headers: Record<string, string> } {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) } };
}

describe('attachment rules', () => {
  test('signatures', () => {
    assert.ok(matchesSignature('application/pdf', pdf()));
    assert.ok(matchesSignature('image/png', png()));
    assert.ok(matchesSignature('image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0])));
    assert.ok(!matchesSignature('application/pdf', Buffer.from('<html><script>alert(1)</script>')));
    assert.ok(!matchesSignature('image/png', pdf()));
    assert.ok(!matchesSignature('application/pdf', Buffer.from('%PD')));
  });

  test('file names that could leave a folder are refused, in every encoding', () => {
    for (const name of ['../x.pdf', '..', '.', '/etc/passwd', 'C:\\x.pdf', 'a\\b.pdf', 'a/b.pdf', 'x\u0000.pdf', '..%2fx.pdf', '%2e%2e', '%252e%252e%252fx', 'a%5cb.pdf', 'x%00.pdf', 'c:x.pdf', '', '   ', 'a\nb.pdf']) {
      assert.ok(fileNameProblem(name), `${JSON.stringify(name)} should be refused`);
    }
    for (const name of ['report.pdf', '검사 결과.pdf', 'CT 2024-01-02 (1).png', '100%.pdf', '..report.pdf']) {
      assert.equal(fileNameProblem(name), undefined, `${JSON.stringify(name)} should be accepted`);
    }
  });

  test('Content-Disposition: attachment, a safe ASCII fallback, the UTF-8 name, the right extension', () => {
    assert.equal(contentDisposition('report.pdf', 'application/pdf'), `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    assert.equal(contentDisposition('x"; y=.html', 'application/pdf'), `attachment; filename="x__ y_.html.pdf"; filename*=UTF-8''x%22%3B%20y%3D.html.pdf`);
    assert.match(contentDisposition('검사.jpeg', 'image/jpeg'), /^attachment; filename="[A-Za-z0-9._ -]+"; filename\*=UTF-8''%EA%B2%80%EC%82%AC\.jpeg$/);
  });

  test('settings: defaults, and a bad ATTACHMENT_MAX_BYTES names the variable', () => {
    assert.deepEqual(loadAttachmentSettings({}, '/data'), { directory: '/data/attachments', maxBytes: 20 * 1024 * 1024 });
    assert.equal(loadAttachmentSettings({ ATTACHMENTS_DIR: '/mnt/data/attachments' }, '/data').directory, '/mnt/data/attachments');
    assert.throws(() => loadAttachmentSettings({ ATTACHMENT_MAX_BYTES: '20MB' }, '/data'), /ATTACHMENT_MAX_BYTES must be an integer/);
    assert.throws(() => loadAttachmentSettings({ ATTACHMENT_MAX_BYTES: '0' }, '/data'), /ATTACHMENT_MAX_BYTES must be between/);
  });
});

describe('attachments on the examination service', () => {
  let service: RunningService;
  let url: string;
  let dataDir: string;
  let attachmentsDir: string;
  let nextId = 1;
  let issuer: DevIssuer;

  /** fetch, as the examiner (or another role, or nobody with `null`). */
  const call = async (input: string, init: RequestInit = {}, role: 'examiner' | 'doctor' | 'receptionist' | null = 'examiner') =>
    fetch(input, { ...init, headers: { ...(role ? await issuer.authorization(role) : {}), ...(init.headers as Record<string, string> | undefined) } });

  async function examination(status: 'REQUESTED' | 'PERFORMED' | 'CANCELLED' = 'REQUESTED'): Promise<number> {
    const id = nextId++;
    const at = new Date().toISOString();
    await saveExamination((service.context as ServiceContext<ExaminationDatabase>).database.db, {
      id, prescriptionId: randomUUID(), diagnosisId: id, receptionId: id, patientId: `P-${id}`, patientName: 'Hong Gildong',
      examinationType: 'CT', status, callCount: 0, createdAt: at, updatedAt: at,
    });
    return id;
  }

  /** The files in an examination's folder of the shared directory. */
  const filesOf = (id: number): string[] => {
    const folder = path.join(attachmentsDir, String(id));
    return fs.existsSync(folder) ? fs.readdirSync(folder) : [];
  };

  const upload = (id: number, body: FormData, headers: Record<string, string> = {}) =>
    call(`${url}/examinations/${id}/attachments`, { method: 'POST', body, headers });

  async function assertProblem(response: Response, status: number, pattern?: RegExp): Promise<Record<string, unknown>> {
    const text = await response.text();
    assert.equal(response.status, status, text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = JSON.parse(text) as Record<string, unknown>;
    assert.equal(problem.status, status);
    if (pattern) assert.match(String(problem.detail), pattern);
    return problem;
  }

  before(async () => {
    issuer = await startDevIssuer();
    examinerAuthorization = await issuer.authorization('examiner');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'examination-attachments-'));
    attachmentsDir = path.join(dataDir, 'shared', 'attachments');
    service = await startService(
      {
        ...examinationService,
        routes: (app, context) => examinationRoutes(app, context, { directory: attachmentsDir, maxBytes: MAX_BYTES }),
      },
      { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, DATABASE_URL: '', KAFKA_BROKERS: '', ...issuer.env },
    );
    url = service.url;
  });
  after(async () => {
    await service?.stop();
    await issuer?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('upload (201, Location), list, download byte for byte with the right headers; the same bytes again are the same attachment', async () => {
    const id = await examination();
    const bytes = pdf('upload');
    const response = await upload(id, form([{ bytes, filename: '검사 결과.pdf' }]));
    const created = (await response.json()) as Record<string, any>;
    assert.equal(response.status, 201, JSON.stringify(created));
    assert.match(created.name, /^[0-9a-f]{32}\.pdf$/);
    assert.equal(response.headers.get('location'), `/examinations/${id}/attachments/${created.name}`);
    assert.deepEqual(
      { ...created, uploadedAt: undefined },
      { examinationId: id, name: created.name, filename: '검사 결과.pdf', contentType: 'application/pdf', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), uploadedAt: undefined },
    );
    // On the shared directory, under the server's name, and nothing else left there.
    assert.deepEqual(filesOf(id), [created.name]);

    const list = (await (await call(`${url}/examinations/${id}/attachments`)).json()) as Record<string, any>;
    assert.deepEqual(list, { items: [created], page: 0, size: 20, total: 1 });

    const download = await call(`${url}${response.headers.get('location')}`);
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
    assert.equal(download.headers.get('content-type'), 'application/pdf');
    assert.equal(download.headers.get('content-length'), String(bytes.length));
    assert.equal(download.headers.get('x-content-type-options'), 'nosniff');
    assert.match(download.headers.get('content-disposition')!, /^attachment; filename="[^"]+\.pdf"; filename\*=UTF-8''%EA%B2%80/);
    assert.equal(download.headers.get('etag'), `"${created.sha256}"`);

    const again = await upload(id, form([{ bytes, filename: 'retry.pdf' }]));
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), created);
    assert.deepEqual(filesOf(id), [created.name]);
  });

  test('an image, and a PERFORMED examination takes attachments too', async () => {
    const id = await examination('PERFORMED');
    const response = await upload(id, form([{ bytes: png(), type: 'image/png', filename: 'scan.png' }]));
    assert.equal(response.status, 201);
    assert.match(((await response.json()) as { name: string }).name, /\.png$/);
  });

  test('refusals: too large, wrong type, lying bytes, empty, no file, two files, other fields, not multipart, unknown or cancelled examination', async () => {
    const id = await examination();
    await assertProblem(await upload(id, form([{ bytes: Buffer.concat([pdf(), Buffer.alloc(MAX_BYTES)]) }])), 413, /exceeds/);
    const huge = Buffer.alloc(MAX_BYTES * 2, 1);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: huge, headers: { 'content-type': 'multipart/form-data; boundary=x' } }), 413);
    await assertProblem(await upload(id, form([{ bytes: Buffer.from('<html></html>'), type: 'text/html', filename: 'x.html' }])), 415, /must be one of/);
    await assertProblem(await upload(id, form([{ bytes: Buffer.from('GIF89a'), type: 'image/gif', filename: 'x.gif' }])), 415);
    await assertProblem(await upload(id, form([{ bytes: Buffer.from('<html><script>alert(1)</script></html>'), filename: 'report.pdf' }])), 415, /not application\/pdf/);
    await assertProblem(await upload(id, form([{ bytes: pdf(), type: 'image/png', filename: 'x.png' }])), 415);
    await assertProblem(await upload(id, form([{ bytes: Buffer.alloc(0) }])), 400, /empty/);
    await assertProblem(await upload(id, form([{ text: 'hello' }])), 400);
    await assertProblem(await upload(id, new FormData()), 400, /no file/);
    await assertProblem(await upload(id, form([{ bytes: pdf('a') }, { bytes: pdf('b'), filename: 'b.pdf' }])), 400, /one file/);
    await assertProblem(await upload(id, form([{ bytes: pdf(), field: 'document' }])), 400, /named "file"/);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: JSON.stringify({ file: 'x' }), headers: { 'content-type': 'application/json' } }), 415, /multipart/);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }), 415, /multipart/);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST' }), 415);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: 'garbage', headers: { 'content-type': 'multipart/form-data' } }), 400);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: '--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-', headers: { 'content-type': 'multipart/form-data; boundary=x' } }), 400);
    await assertProblem(await upload(999_999, form([{ bytes: pdf() }])), 404);
    await assertProblem(await upload(await examination('CANCELLED'), form([{ bytes: pdf() }])), 409, /CANCELLED/);
    // Nothing of the refused uploads stays behind, not even a temporary file.
    assert.deepEqual(filesOf(id), []);
    const list = (await (await call(`${url}/examinations/${id}/attachments`)).json()) as { total: number };
    assert.equal(list.total, 0);
  });

  test('traversal in the uploaded file name: 400, however it is written', async () => {
    const id = await examination();
    for (const filename of ['../../etc/passwd.pdf', '/etc/passwd', '..', 'a\\..\\b.pdf', '..%2f..%2fx.pdf', '%2e%2e', 'C:\\windows\\x.pdf']) {
      const { body, headers } = handMade(filename, 'application/pdf', pdf());
      const response = await raw(url, 'POST', `/examinations/${id}/attachments`, headers, body);
      assert.equal(response.status, 400, `${filename}: ${response.body}`);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    }
    // The RFC 8187 form of the name is decoded before it is checked.
    const boundary = 'xyz';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''..%2F..%2Fx.pdf\r\nContent-Type: application/pdf\r\n\r\n`),
      pdf(),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const encoded = await raw(url, 'POST', `/examinations/${id}/attachments`, { 'content-type': `multipart/form-data; boundary=${boundary}` }, body);
    assert.equal(encoded.status, 400, encoded.body.toString());
    assert.deepEqual(filesOf(id), []);
  });

  test('downloads: traversal and malformed names are 400, unknown ones 404, an unknown examination 404', async () => {
    const id = await examination();
    for (const name of ['..', '%2e%2e', '..%2f..%2fetc%2fpasswd', '..%5c..%5cwindows', '%00', 'x%00.pdf', '..%252f..%252fetc', '../../etc/passwd', '..\\..\\x', 'report.pdf', '%2fetc%2fpasswd']) {
      const response = await raw(url, 'GET', `/examinations/${id}/attachments/${name}`);
      assert.equal(response.status, 400, `${name}: ${response.status} ${response.body}`);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/, name);
    }
    const unknown = `${'0'.repeat(32)}.pdf`;
    assert.equal((await call(`${url}/examinations/${id}/attachments/${unknown}`)).status, 404);
    assert.equal((await call(`${url}/examinations/999999/attachments/${unknown}`)).status, 404);
    assert.equal((await call(`${url}/examinations/999999/attachments`)).status, 404);
  });

  test('roles: the doctor lists and downloads but may not upload; without a token nothing, and no file is kept', async () => {
    const id = await examination();
    const created = (await (await upload(id, form([{ bytes: pdf('for the doctor') }]))).json()) as { name: string };
    assert.equal((await call(`${url}/examinations/${id}/attachments`, {}, 'doctor')).status, 200);
    assert.equal((await call(`${url}/examinations/${id}/attachments/${created.name}`, {}, 'doctor')).status, 200);
    const byDoctor = await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: form([{ bytes: pdf('not mine') }]) }, 'doctor');
    await assertProblem(byDoctor, 403);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, { method: 'POST', body: form([{ bytes: pdf('anonymous') }]) }, null), 401);
    await assertProblem(await call(`${url}/examinations/${id}/attachments`, {}, 'receptionist'), 403);
    assert.equal(filesOf(id).length, 1);
  });

  test('an upload up to the limit passes the platform\'s 1 MiB body limit when the limit is higher', async () => {
    // The route's own bodyLimit (ATTACHMENT_MAX_BYTES + multipart overhead) replaces the API's 1 MiB.
    const id = await examination();
    const bytes = Buffer.concat([pdf(), Buffer.alloc(MAX_BYTES - pdf().length, 7)]);
    assert.equal(bytes.length, MAX_BYTES);
    const response = await upload(id, form([{ bytes }]));
    assert.equal(response.status, 201);
  });

  test('Idempotency-Key: a retry with the same key and file is replayed; the same key with another file is a 422', async () => {
    const id = await examination();
    const key = randomUUID();
    const first = await upload(id, form([{ bytes: pdf('keyed') }]), { 'idempotency-key': key });
    assert.equal(first.status, 201);
    const created = await first.json();
    const retry = await upload(id, form([{ bytes: pdf('keyed') }]), { 'idempotency-key': key });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await retry.json(), created);
    await assertProblem(await upload(id, form([{ bytes: pdf('another file') }]), { 'idempotency-key': key }), 422);
    assert.equal(filesOf(id).length, 1, 'the replayed and refused uploads leave no file behind');
  });

  test('the routes are documented, the upload as multipart/form-data', async () => {
    const document = (await (await call(`${url}/openapi.json`)).json()) as Record<string, any>;
    const uploadOperation = document.paths['/examinations/{id}/attachments'].post;
    assert.ok(uploadOperation.requestBody.content['multipart/form-data'], JSON.stringify(uploadOperation.requestBody));
    assert.ok(document.paths['/examinations/{id}/attachments'].get);
    assert.ok(document.paths['/examinations/{id}/attachments/{name}'].get.responses['200'].content['application/pdf']);
    assert.ok(!Object.keys(document.paths).some((p) => p.includes('*')));
  });
});
