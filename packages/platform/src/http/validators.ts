import { Ajv, type Options } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
import { addFormats } from '@medical/contracts';

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: true, strict: false };

/**
 * Query strings and path parameters arrive as text, so "?page=2" must become the integer 2;
 * a JSON body has real types, and a number sent where the contract wants text is an error,
 * never quietly turned into "42". Hence two validators.
 */
const forText = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
const forJson = addFormats(new Ajv({ ...common, coerceTypes: false }));

export const validatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) => (httpPart === 'body' ? forJson : forText).compile(schema);
