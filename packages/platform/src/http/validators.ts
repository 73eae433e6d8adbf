import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS: under Node's ESM loader its default export is the plugin itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: true, strict: false };

/**
 * Query strings and path parameters arrive as text, so "?page=2" must become the integer 2;
 * a JSON body has real types, and a number sent where the contract wants text is an error,
 * never quietly turned into "42". Hence two validators.
 */
const forText = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
const forJson = addFormats(new Ajv({ ...common, coerceTypes: false }));

export const validatorCompiler: FastifySchemaCompiler<any> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? forJson : forText).compile(schema as object) as ReturnType<FastifySchemaCompiler<any>>;
