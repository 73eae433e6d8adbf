import http from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

/**
 * A stand-in for an OpenTelemetry collector: an OTLP/HTTP traces endpoint (`POST /v1/traces`)
 * that accepts both encodings the services can send, http/json and http/protobuf, and keeps the
 * spans it decoded. The protobuf schema is the part of opentelemetry-proto's trace messages the
 * tests read (field numbers as in trace.proto, common.proto and resource.proto).
 */

export type ReceivedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, string | number | boolean>;
  links: Array<{ traceId: string; spanId: string }>;
};

const traceProto = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { repeated Span spans = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  repeated KeyValue attributes = 9; repeated Link links = 13;
}
message Link { bytes trace_id = 1; bytes span_id = 2; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
`;
const ExportTraceServiceRequest = protobuf.parse(traceProto, { keepCase: false }).root.lookupType('ExportTraceServiceRequest');

type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number };
type KeyValue = { key: string; value?: AnyValue };
type RawSpan = {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  attributes?: KeyValue[];
  links?: Array<{ traceId?: string; spanId?: string }>;
};
type RawRequest = { resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: RawSpan[] }> }> };

function attributeMap(attributes: KeyValue[] = []): Record<string, string | number | boolean> {
  const map: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes) {
    if (!value) continue;
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined);
    if (v !== undefined) map[key] = v;
  }
  return map;
}

/** OTLP/JSON carries ids as hex; protobufjs's toObject gives bytes as base64: both end as hex. */
function hexId(id: string | undefined, encoding: 'hex' | 'base64'): string {
  if (!id) return '';
  return encoding === 'hex' ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function spansOf(request: RawRequest, encoding: 'hex' | 'base64'): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const service = String(attributeMap(resourceSpans.resource?.attributes)['service.name'] ?? '');
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          traceId: hexId(span.traceId, encoding),
          spanId: hexId(span.spanId, encoding),
          parentSpanId: hexId(span.parentSpanId, encoding),
          name: span.name ?? '',
          kind: span.kind ?? 0,
          service,
          attributes: attributeMap(span.attributes),
          links: (span.links ?? []).map((l) => ({ traceId: hexId(l.traceId, encoding), spanId: hexId(l.spanId, encoding) })),
        });
      }
    }
  }
  return spans;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** The content types of the export requests received: which encodings really arrived. */
  readonly contentTypes = new Set<string>();
  readonly rejected: string[] = [];
  private server: http.Server | undefined;

  async start(): Promise<string> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
        try {
          if (request.method !== 'POST' || request.url !== '/v1/traces') throw new Error(`${request.method} ${request.url}`);
          const body = Buffer.concat(chunks);
          if (contentType === 'application/json') {
            this.spans.push(...spansOf(JSON.parse(body.toString('utf8')) as RawRequest, 'hex'));
          } else if (contentType === 'application/x-protobuf') {
            const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { bytes: String, longs: String, defaults: false });
            this.spans.push(...spansOf(decoded as RawRequest, 'base64'));
          } else {
            throw new Error(`unsupported content-type "${contentType}"`);
          }
          this.contentTypes.add(contentType);
          response.writeHead(200, { 'content-type': contentType || 'application/json' });
          response.end(contentType === 'application/json' ? '{}' : undefined);
        } catch (error) {
          this.rejected.push((error as Error).message);
          response.writeHead(400, { 'content-type': 'text/plain' });
          response.end((error as Error).message);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The spans of one trace, by id. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }
}
