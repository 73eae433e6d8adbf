import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

/**
 * The platform's folders keep their layers and nothing imports in a circle: the rules of
 * .dependency-cruiser.cjs (at the repository's root) run on packages/platform/src.
 */

const root = path.resolve(import.meta.dirname, '..', '..', '..');

async function cruisePlatform(): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(path.join(root, '.dependency-cruiser.cjs'));
  const { output } = await cruise(['packages/platform/src'], { ...options, baseDir: root });
  if (typeof output === 'string') throw new Error(`the cruise answered with text, not its result: ${output}`);
  return output;
}

function describe(violation: IViolation): string {
  const path = violation.cycle?.length ? [violation.from, ...violation.cycle.map((step) => step.name)] : [violation.from, violation.to];
  return `${violation.rule.name}: ${path.join(' → ')}`;
}

test('no import cycle between modules or folders, and no folder imports a layer above its own', async () => {
  const { summary } = await cruisePlatform();
  const violations = summary.violations.map(describe);
  assert.deepEqual(violations, [], `${violations.length} architecture violation(s) (the rules: .dependency-cruiser.cjs):\n  ${violations.join('\n  ')}\n`);
});

test('the cruise reads every import, type-only ones included', async () => {
  // A parser that cannot read the sources finds no imports, and so no violations: this says it read them.
  const { modules } = await cruisePlatform();
  const imports = (source: string) => modules.find((m) => m.source === `packages/platform/src/${source}`)?.dependencies.map((d) => d.resolved.replace('packages/platform/src/', '')) ?? [];
  assert.ok(imports('service/service.ts').includes('outbox/outbox.ts'), 'service/service.ts imports the outbox');
  assert.ok(imports('service/config.ts').includes('transport/transport-config.ts'), 'service/config.ts imports a type of the transport');
});
