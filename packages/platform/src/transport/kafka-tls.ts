import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { BaseOptions, ConnectionPoolEventPayload } from '@platformatic/kafka';
import { ConfigError } from '../lib/env.ts';
import type { KafkaTlsSettings } from './transport-config.ts';

/**
 * TLS with the brokers (KAFKA_TLS=true), for every Kafka client: the transport's producer, admin
 * and consumers, and the dead-letters tool's reader.
 *
 * The PEM files are read and checked here, once, when the clients are made at start: a file that
 * is missing, holds no certificate, an encrypted key or a key of another certificate fails the
 * start with a ConfigError naming the variable (never quoting the file). Renewed certificates
 * are picked up by the next start.
 */
export function kafkaTlsOptions(settings: KafkaTlsSettings | undefined, brokers: string[]): Pick<BaseOptions, 'tls' | 'tlsServerName'> {
  if (!settings) return {};
  const ca = settings.caFile ? certificates('KAFKA_TLS_CA_FILE', settings.caFile) : undefined;
  const client = settings.certFile && settings.keyFile ? clientCertificate(settings.certFile, settings.keyFile) : undefined;
  return {
    // Explicit, so that NODE_TLS_REJECT_UNAUTHORIZED=0 cannot turn the verification off. The
    // broker's name is checked against the host connected to (Node's checkServerIdentity).
    tls: { rejectUnauthorized: true, ...(ca && { ca: ca.pem }), ...client },
    // SNI with the broker's name (what an ingress or a route in front of the brokers needs);
    // never with an address, which RFC 6066 forbids.
    ...(brokers.every((broker) => isIP(broker.slice(0, broker.lastIndexOf(':'))) === 0) && { tlsServerName: true }),
  };
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----\r?\n[\s\S]+?-----END \1-----/;

function readPem(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name} must name a readable file, got "${file}" (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** The PEM certificates of the file, each checked to parse; the first is the leaf of a chain. */
function certificates(name: string, file: string): { pem: string; first: X509Certificate } {
  const blocks = readPem(name, file).match(CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${name} must hold PEM certificates (-----BEGIN CERTIFICATE-----), and ${file} holds none`);
  const parsed = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new ConfigError(`${name} must hold PEM certificates: certificate ${index + 1} of ${file} does not parse`);
    }
  });
  return { pem: `${blocks.join('\n')}\n`, first: parsed[0]! };
}

function privateKey(name: string, file: string): { pem: string; key: KeyObject } {
  const text = readPem(name, file);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new ConfigError(`${name} must hold an unencrypted PEM private key, and the one in ${file} is encrypted`);
  }
  const pem = PRIVATE_KEY.exec(text)?.[0];
  if (!pem) throw new ConfigError(`${name} must hold a PEM private key (-----BEGIN PRIVATE KEY-----), and ${file} holds none`);
  try {
    return { pem: `${pem}\n`, key: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch {
    throw new ConfigError(`${name} must hold a PEM private key: the one in ${file} does not parse`);
  }
}

/** The client certificate (with its chain, if the file has one) and its key, which must belong together. */
function clientCertificate(certFile: string, keyFile: string): { cert: string; key: string } {
  const cert = certificates('KAFKA_TLS_CERT_FILE', certFile);
  const key = privateKey('KAFKA_TLS_KEY_FILE', keyFile);
  if (!cert.first.checkPrivateKey(key.key)) {
    throw new ConfigError(`KAFKA_TLS_KEY_FILE must hold the key of the certificate in KAFKA_TLS_CERT_FILE, and ${keyFile} holds another one`);
  }
  return { cert: cert.pem, key: key.pem };
}

/** TLS with the brokers failed for a reason that waiting will not fix: the certificates do not fit. */
export class KafkaTlsError extends Error {
  override name = 'KafkaTlsError';
}

/** OpenSSL's names (Node's error codes) for a broker certificate this client did not accept, and Node's for a wrong name. */
const NOT_ACCEPTED = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|INVALID_CA|PATH_LENGTH_EXCEEDED|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)/;

/**
 * Why TLS with a broker failed, in words that name the settings to check, found in the error or
 * its causes (the library nests them); undefined when the error is not about TLS.
 */
export function explainTlsFailure(error: unknown): string | undefined {
  const code = tlsCodeOf(error, 0);
  if (!code) return undefined;
  if (NOT_ACCEPTED.test(code.code)) {
    return `the broker's certificate was not accepted (${code.code}: ${code.message}): it must chain to a certificate of KAFKA_TLS_CA_FILE (Node's default roots when unset) and name the broker's host`;
  }
  if (code.code.includes('ALERT')) {
    return `the broker refused the TLS connection (${code.code}): its listener wants a client certificate it trusts, KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE`;
  }
  return `TLS with the broker failed (${code.code}): is KAFKA_BROKERS a TLS listener?`;
}

function tlsCodeOf(error: unknown, depth: number): { code: string; message: string } | undefined {
  if (!(error instanceof Error) || depth > 8) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && (NOT_ACCEPTED.test(code) || code.startsWith('ERR_SSL_'))) return { code, message: error.message.split('\n')[0]! };
  const nested = [error.cause, ...((error as { errors?: unknown[] }).errors ?? [])];
  for (const inner of nested) {
    const found = tlsCodeOf(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Any client of the library: a producer, a consumer, an admin. */
type KafkaClient = { on(event: 'client:broker:connect', listener: (payload: ConnectionPoolEventPayload) => void): unknown };

/**
 * Reports TLS failures on the client's connections. A broker that refuses the client's certificate
 * under TLS 1.3 does so after the handshake: the connection errs with the broker's alert, while
 * the request in flight fails with a bare "Connection closed".
 */
export function watchTlsFailures(client: KafkaClient, onFailure: (explanation: string, error: Error) => void): void {
  client.on('client:broker:connect', ({ connection }) => {
    connection.on('error', (error: Error) => {
      const explanation = explainTlsFailure(error);
      if (explanation) onFailure(explanation, error);
    });
  });
}
