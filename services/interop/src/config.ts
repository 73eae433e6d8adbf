import { ConfigError, loadAuthConfig, loadClientCredentials, readInteger, readString, readUrl, type ClientCredentials } from '@medical/platform';
import type { Hl7Parties } from './hl7/index.ts';

type Env = Record<string, string | undefined>;

/** The interop service's own settings, read at start so a wrong one fails the start with its variable's name. */
export type InteropConfig = {
  /** The FHIR API's public base (FHIR_BASE_URL), for the links of its answers; unset, the address the gateway was called at. */
  fhirBaseUrl?: string;
  /**
   * Where subscriptions may send notifications (SUBSCRIPTION_ENDPOINT_PREFIXES, comma-separated URL
   * prefixes): a notification carries patient data, so only to the hospital's own systems. By
   * default this machine's loopback addresses only.
   */
  subscriptionEndpoints: string[];
  delivery: { pollMs: number; retryBaseMs: number; retryMaxMs: number; maxRefusals: number; leaseMs: number };
  hl7: Hl7Config;
};

/** The HL7 v2 feeds: out to the interface engine, and in from the laboratories. */
export type Hl7Config = {
  /** Who this system is in MSH-3/4 (HL7_SENDING_APPLICATION, HL7_SENDING_FACILITY) and whom it sends to (HL7_RECEIVING_*). */
  parties: Hl7Parties;
  /** The interface engine's MLLP listener (HL7_OUTBOUND_ADDRESS, host:port): unset, nothing is sent. */
  outbound?: { host: string; port: number; timeoutMs: number };
  /** Where results are taken (HL7_LISTEN_PORT, on HL7_LISTEN_HOST): unset, no listener. */
  inbound?: { host: string; port: number; examinationUrl: string; client: ClientCredentials; issuer: string; scope?: string };
};

const LOOPBACK_ENDPOINTS = ['http://127.0.0.1:', 'http://localhost:', 'http://[::1]:'];

export function loadInteropConfig(env: Env = process.env): InteropConfig {
  const fhirBaseUrl = env.FHIR_BASE_URL?.trim() ? readUrl(env, 'FHIR_BASE_URL', '') : undefined;
  return {
    ...(fhirBaseUrl !== undefined ? { fhirBaseUrl } : {}),
    subscriptionEndpoints: endpointPrefixes(env),
    delivery: {
      pollMs: readInteger(env, 'DELIVERY_POLL_INTERVAL_MS', 1_000, 10, 60_000),
      retryBaseMs: readInteger(env, 'DELIVERY_RETRY_BASE_MS', 1_000, 10, 60_000),
      retryMaxMs: readInteger(env, 'DELIVERY_RETRY_MAX_MS', 60_000, 100, 3_600_000),
      maxRefusals: readInteger(env, 'DELIVERY_MAX_REFUSALS', 5, 1, 100),
      leaseMs: 60_000,
    },
    hl7: loadHl7Config(env),
  };
}

function loadHl7Config(env: Env): Hl7Config {
  const parties: Hl7Parties = {
    sendingApplication: readString(env, 'HL7_SENDING_APPLICATION', 'MEDICAL'),
    sendingFacility: readString(env, 'HL7_SENDING_FACILITY', 'HOSPITAL'),
    receivingApplication: readString(env, 'HL7_RECEIVING_APPLICATION', 'ENGINE'),
    receivingFacility: readString(env, 'HL7_RECEIVING_FACILITY', 'HOSPITAL'),
  };
  const config: Hl7Config = { parties };
  const outbound = env.HL7_OUTBOUND_ADDRESS?.trim();
  if (outbound) config.outbound = { ...addressOf(outbound, 'HL7_OUTBOUND_ADDRESS'), timeoutMs: readInteger(env, 'HL7_ACK_TIMEOUT_MS', 10_000, 100, 120_000) };
  if (env.HL7_LISTEN_PORT?.trim()) {
    const auth = loadAuthConfig(env);
    // In development the gateway's provider has a client for this service; elsewhere the hospital's provider issues its credentials.
    const client = loadClientCredentials(env, 'INTEROP') ?? (auth.dev ? { clientId: 'interop', clientSecret: auth.dev.password } : undefined);
    if (client === undefined) throw new ConfigError('HL7_LISTEN_PORT needs INTEROP_CLIENT_ID and INTEROP_CLIENT_SECRET: the results are performed on the examination service as this client');
    config.inbound = {
      host: readString(env, 'HL7_LISTEN_HOST', readString(env, 'HOST', '0.0.0.0')),
      port: readInteger(env, 'HL7_LISTEN_PORT', 2575, 0, 65_535),
      examinationUrl: readUrl(env, 'EXAMINATION_URL', 'http://127.0.0.1:8084'),
      client,
      issuer: auth.issuer,
      // Entra ID's client-credentials grant needs one (api://<the API's app id>/.default); Keycloak's none.
      ...(env.INTEROP_CLIENT_SCOPE?.trim() ? { scope: env.INTEROP_CLIENT_SCOPE.trim() } : {}),
    };
  }
  return config;
}

function addressOf(value: string, name: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || !(port >= 1 && port <= 65_535)) throw new ConfigError(`${name} must be host:port (the interface engine's MLLP listener), got "${value}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function endpointPrefixes(env: Env): string[] {
  const given = env.SUBSCRIPTION_ENDPOINT_PREFIXES?.trim();
  if (!given) return LOOPBACK_ENDPOINTS;
  return given.split(',').map((listed) => {
    const trimmed = listed.trim();
    try {
      const url = new URL(trimmed.endsWith(':') ? `${trimmed}1` : trimmed);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new ConfigError(`SUBSCRIPTION_ENDPOINT_PREFIXES must be http(s) URL prefixes separated by commas, got "${trimmed}"`);
    }
    // Compared with the endpoint's URL as parsed, whose scheme and host are lower case.
    const [, origin = '', rest = ''] = /^([a-z]+:\/\/[^/]*)(.*)$/i.exec(trimmed) ?? [];
    const prefix = `${origin.toLowerCase()}${rest}`;
    // A bare origin would also allow https://hospital.example.attacker.test: it must end its host
    // (with a path's slash, or a port's colon: `http://10.1.2.3:` is any port of that host).
    return rest === '' && !origin.endsWith(':') ? `${prefix}/` : prefix;
  });
}
