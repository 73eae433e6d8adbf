/**
 * The architecture of packages/platform/src, checked by packages/platform/test/architecture.test.ts
 * (and by hand: `npx depcruise packages/platform/src`).
 *
 * The platform is one folder per feature, each with its tables, its port and its adapters. The
 * folders stand in layers, bottom to top; a folder imports its own layer's peers and the layers
 * below it, never a layer above, and no two folders import each other (peers included), nor two
 * modules. Type-only imports count: a type is a dependency too.
 */
const SRC = '^packages/platform/src/';

const layers = [
  // Tiny helpers with no dependency at all: sleep and backoff, outage errors, reading settings.
  ['lib'],
  // The ports and their adapters, and the kits that know no feature: the database, the event
  // transport, telemetry, HTTP, the pure domain vocabulary, the retention table.
  ['db', 'transport', 'telemetry', 'http', 'domain', 'retention'],
  // The features built on them, each with its tables; and the hospital's reference data (its catalog).
  ['auth', 'outbox', 'inbox', 'idempotency', 'audit', 'reference'],
  // What composes them into a running service (and the composed migrations and tables).
  ['service'],
  // The operator's work on a whole system's services: reconciling them after a restore, rewriting
  // the free text of before the catalog's codes.
  ['restore', 'recode'],
];

/** What only the package's users import: `.`, `./edge`, `./operations`, `./testing` (package.json exports). */
const entryPoints = `${SRC}(index\\.ts|edge\\.ts|operations\\.ts|testing/)`;

const folders = (names) => `${SRC}(${names.join('|')})/`;

const layerRules = layers.flatMap((layer, index) => {
  const above = layers.slice(index + 1).flat();
  return above.length === 0
    ? []
    : [
        {
          name: `layer-${layer.join('-')}`,
          comment: `${layer.join(', ')} may import the layers below, never ${above.join(', ')}: a lower layer never imports a higher one.`,
          severity: 'error',
          from: { path: folders(layer) },
          to: { path: folders(above) },
        },
      ];
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Two modules of the platform import each other (directly or through others).',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'Two folders of the platform import each other (directly or through others), though no two modules do.',
      severity: 'error',
      scope: 'folder',
      from: { path: SRC },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'entry-points-on-top',
      comment: "Entry points are for the package's users: nothing inside the platform imports them.",
      severity: 'error',
      from: { path: SRC, pathNot: entryPoints },
      to: { path: entryPoints },
    },
    {
      name: 'lib-depends-on-nothing',
      comment: 'lib/ holds dependency-free helpers: nothing but Node.js itself and lib/.',
      severity: 'error',
      from: { path: `${SRC}lib/` },
      to: { pathNot: `${SRC}lib/`, dependencyTypesNot: ['core'] },
    },
    {
      name: 'domain-is-pure',
      comment: 'domain/ is the vocabulary of the pure deciders: it imports nothing, so a service domain layer stays free of I/O.',
      severity: 'error',
      from: { path: `${SRC}domain/` },
      to: { pathNot: `${SRC}domain/` },
    },
  ],
  options: {
    // The platform's own modules; its packages (npm's, @medical/contracts) are leaves.
    doNotFollow: { path: ['node_modules', '^packages/(?!platform/)'] },
    // TypeScript 7.0 has no compiler API for dependency-cruiser to parse with (7.1 will have
    // one): swc parses the sources instead, type-only imports included.
    parser: 'swc',
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
