import fc from 'fast-check';

/**
 * The arbitraries the services' property tests share (services/<name>/test/properties.test.ts):
 * texts the API schemas accept, with the awkward ones favoured; timestamps; and sequences of
 * commands as staff and redeliveries produce them.
 */

/** One code point: mostly ASCII and Hangul, sometimes any (astral, controls, odd spaces). Cheaper than `unit: 'binary'`. */
export const codePoint: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCodePoint(c)), weight: 6 },
  { arbitrary: fc.integer({ min: 0xac00, max: 0xd7a3 }).map((c) => String.fromCodePoint(c)), weight: 2 },
  { arbitrary: fc.constantFrom('\u0000', '\t', '\n', '\u00a0', '\u2028', '\ufeff', 'é', 'e\u0301', '😀'), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c)), weight: 1 },
);

/** Strings the API schemas accept (1..max code points, some non-space), with the awkward ones favoured. */
export const schemaText = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.string({ unit: codePoint, minLength: 1, maxLength: Math.min(max, 30) }).filter((s) => /\S/u.test(s)), weight: 6 },
    { arbitrary: fc.constantFrom('김민지', ' x ', '\tA\n', 'é', '😀', "O'Brien; DROP TABLE x", '<b>', '\u00a0.'), weight: 3 },
    { arbitrary: fc.constantFrom('a'.repeat(max), `${' '.repeat(max - 1)}가`, '😀'.repeat(max)), weight: 1 },
  );

/** ISO timestamps over this century. */
export const isoTimestamp: fc.Arbitrary<string> = fc
  .date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2099-12-31T23:59:59.999Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/**
 * Sequences of commands drawn from `steps` (weighted), where a step may repeat the one before it
 * (a double click, a redelivery), mostly started by `first` (a registration, a request) so that
 * the rest gets past "there is nothing yet".
 */
export function commandSequences<C>(
  steps: ReadonlyArray<{ arbitrary: fc.Arbitrary<C>; weight: number }>,
  options: { first: fc.Arbitrary<C>; firstWeight: number; maxLength: number },
): fc.Arbitrary<C[]> {
  const again = { arbitrary: fc.constant('again' as const), weight: 1 };
  return fc
    .array(fc.oneof<[...Array<fc.WeightedArbitrary<C | 'again'>>]>(...steps, again), { maxLength: options.maxLength })
    .map((drawn) =>
      drawn.reduce<C[]>((out, step) => {
        if (step !== 'again') out.push(step);
        else if (out.length > 0) out.push(out[out.length - 1]!);
        return out;
      }, []),
    )
    .chain((cs) => fc.oneof({ arbitrary: options.first.map((f) => [f, ...cs]), weight: options.firstWeight }, { arbitrary: fc.constant(cs), weight: 1 }));
}
