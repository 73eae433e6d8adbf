import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { BACKEND_SERVICES, DEFAULT_PORTS, SERVICE_NAMES, type ServiceName } from '../../scripts/lib/processes.ts';
import { useTestSystem, waitForVisit } from '../e2e/helpers.ts';
import { driveVisit } from '../e2e/support/visits.ts';

/**
 * deploy/monitoring is checked for what can be checked without a Prometheus or a Grafana: every
 * PromQL expression of the alert rules and of the dashboard parses with the Prometheus project's
 * own grammar (@prometheus-io/lezer-promql, the one Prometheus' UI uses), every metric it names is
 * exposed on /metrics by the real services after a visit, the label names it filters and groups
 * by exist on those series, the dashboard is well-formed Grafana JSON, and the Prometheus
 * configurations scrape /metrics and load the rule file.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const monitoring = path.join(root, 'deploy', 'monitoring');

// ---- PromQL --------------------------------------------------------------------------------------

type Matcher = { label: string; op: string; value: string };
type Selector = { metric: string | undefined; matchers: Matcher[] };
type Analysis = { expr: string; selectors: Selector[]; groupingLabels: string[]; errors: string[] };

/** Parses PromQL and collects its vector selectors, grouping labels (by, without, on, ignoring) and syntax errors. */
function analyse(expr: string): Analysis {
  const tree = parser.parse(expr);
  const text = (node: { from: number; to: number }) => expr.slice(node.from, node.to);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  const errors: string[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(`syntax error at ${ref.from}: …${expr.slice(Math.max(0, ref.from - 30), ref.from)}⚠${expr.slice(ref.from, ref.from + 30)}…`);
      }
      if (ref.name === 'GroupingLabels') {
        for (let child = ref.node.firstChild; child; child = child.nextSibling) {
          if (child.name === 'LabelName') groupingLabels.push(text(child));
        }
      }
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const identifier = node.getChild('Identifier');
      const selector: Selector = { metric: identifier ? text(identifier) : undefined, matchers: [] };
      const matchers = node.getChild('LabelMatchers');
      for (let matcher = matchers?.firstChild; matcher; matcher = matcher.nextSibling) {
        if (matcher.name !== 'UnquotedLabelMatcher' && matcher.name !== 'QuotedLabelMatcher') continue;
        const name = matcher.getChild('LabelName') ?? matcher.getChild('QuotedLabelName');
        const op = matcher.getChild('MatchOp');
        const value = matcher.getChild('StringLiteral');
        if (!name || !op || !value) continue; // an error node says why
        const m = { label: text(name).replace(/^"|"$/g, ''), op: text(op), value: JSON.parse(text(value).replace(/^'|'$|^`|`$/g, '"')) as string };
        if (m.label === '__name__' && m.op === '=') selector.metric = m.value;
        else selector.matchers.push(m);
      }
      selectors.push(selector);
    },
  });
  return { expr, selectors, groupingLabels, errors };
}

/** Grafana's built-in interval variables, replaced by values of their kind. */
const GRAFANA_BUILTINS: Record<string, string> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '1h',
  __interval_ms: '60000',
  __range_s: '3600',
  __range_ms: '3600000',
  __rate_interval_ms: '300000',
};

/**
 * Replaces Grafana variables ($name, ${name}, ${name:format}, [[name]]) with harmless values: the
 * built-in intervals with durations, the dashboard's own variables (used inside label matchers'
 * strings) with a plain word. Returns the variables it met, to check that they are declared.
 */
function substituteGrafanaVariables(expr: string): { expr: string; variables: string[] } {
  const variables: string[] = [];
  const substituted = expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]/g, (_all, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    variables.push(name);
    return GRAFANA_BUILTINS[name] ?? 'substituted';
  });
  return { expr: substituted, variables };
}

/** Grafana template queries that wrap PromQL: label_values(expr, label), query_result(expr). */
function promqlOfTemplateQuery(query: string): string | undefined {
  const labelValues = /^\s*label_values\(\s*(.+)\s*,\s*[\w.]+\s*\)\s*$/s.exec(query);
  if (labelValues) return labelValues[1];
  const queryResult = /^\s*query_result\(\s*(.+)\s*\)\s*$/s.exec(query);
  if (queryResult) return queryResult[1];
  return undefined; // label_names(), metrics(regex): no PromQL
}

function assertParses(analysis: Analysis, where: string): void {
  assert.deepEqual(analysis.errors, [], `${where}: ${analysis.expr}`);
  for (const selector of analysis.selectors) {
    assert.ok(selector.metric, `${where}: every selector names its metric: ${analysis.expr}`);
  }
}

// ---- the files -------------------------------------------------------------------------------------

type Rule = { alert?: string; record?: string; expr?: unknown; for?: unknown; labels?: Record<string, unknown>; annotations?: Record<string, unknown> };
type RuleFile = { groups: Array<{ name: string; rules: Rule[] }> };
type Target = { refId?: unknown; expr?: unknown; datasource?: { type?: string; uid?: string } };
type Panel = {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: Record<string, unknown>;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
};
type TemplateVariable = { name?: unknown; type?: unknown; query?: unknown; definition?: unknown; datasource?: { type?: string; uid?: string } };
type Dashboard = {
  title?: unknown;
  uid?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: TemplateVariable[] };
};
type ScrapeConfig = {
  job_name: string;
  metrics_path?: string;
  honor_labels?: boolean;
  kubernetes_sd_configs?: Array<{ role: string }>;
  static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
  relabel_configs?: Array<{ source_labels?: string[]; regex?: string; action?: string; target_label?: string; replacement?: string }>;
};
type PrometheusConfig = { rule_files?: string[]; scrape_configs?: ScrapeConfig[] };

const rulesFile = parse(fs.readFileSync(path.join(monitoring, 'alerts.yml'), 'utf8')) as RuleFile;
const rules = rulesFile.groups.flatMap((group) => group.rules.map((rule) => ({ group: group.name, rule })));
const dashboard = JSON.parse(fs.readFileSync(path.join(monitoring, 'grafana', 'medical-visit-workflow.json'), 'utf8')) as Dashboard;
/** Every panel, those inside collapsed rows too. */
const panels: Panel[] = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const prometheusConfigs = ['prometheus.yml', 'prometheus.local.yml'].map((file) => ({
  file,
  config: parse(fs.readFileSync(path.join(monitoring, file), 'utf8')) as PrometheusConfig,
}));

type Expression = { where: string; analysis: Analysis; variables: string[] };

const ruleExpressions: Expression[] = rules.map(({ group, rule }) => ({
  where: `alerts.yml ${group}/${rule.alert ?? rule.record}`,
  analysis: analyse(String(rule.expr)),
  variables: [],
}));

const dashboardExpressions: Expression[] = [
  ...panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      const { expr, variables } = substituteGrafanaVariables(String(target.expr));
      return { where: `dashboard panel ${String(panel.id)} "${String(panel.title)}" target ${String(target.refId)}`, analysis: analyse(expr), variables };
    }),
  ),
  ...(dashboard.templating?.list ?? []).flatMap((variable) => {
    if (variable.type !== 'query') return [];
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string } | undefined)?.query;
    const promql = query === undefined ? undefined : promqlOfTemplateQuery(query);
    if (promql === undefined) return [];
    const { expr, variables } = substituteGrafanaVariables(promql);
    return [{ where: `dashboard variable ${String(variable.name)}`, analysis: analyse(expr), variables }];
  }),
];

const metricsOf = (expressions: Expression[]) =>
  new Set(expressions.flatMap((e) => e.analysis.selectors.map((s) => s.metric).filter((m): m is string => m !== undefined)));

// ---- static checks ---------------------------------------------------------------------------------

test('the PromQL parser rejects what Prometheus rejects', () => {
  // The check below is only worth something if a broken expression shows as an error node.
  assert.notDeepEqual(analyse('rate(http_request_duration_seconds_count[5m]').errors, []);
  assert.notDeepEqual(analyse('sum by (service (up)').errors, []);
  assert.notDeepEqual(analyse('no_such_function(up)').errors, []);
  assert.deepEqual(analyse('sum by (service) (rate(up{job=~"a.*"}[5m])) > 0').errors, []);
  assert.deepEqual([...metricsOf([{ where: '', variables: [], analysis: analyse('a_total / on(x) group_left b{x="y"} or {__name__="d"}') }])].sort(), ['a_total', 'b', 'd']);
});

test('every alert rule is complete and its expression is valid PromQL', () => {
  assert.ok(rules.length > 0, 'alerts.yml has rules');
  const names = new Set<string>();
  for (const { group, rule } of rules) {
    const where = `alerts.yml ${group}/${rule.alert}`;
    assert.equal(typeof rule.alert, 'string', `${group}: every rule is an alert with a name`);
    assert.ok(!names.has(rule.alert!), `${where}: alert names are unique`);
    names.add(rule.alert!);
    assert.match(rule.alert!, /^[A-Za-z_][A-Za-z0-9_]*$/, `${where}: a valid alert name`);
    assert.equal(typeof rule.expr, 'string', `${where}: expr`);
    // A Prometheus duration: units from the largest to the smallest, each at most once.
    assert.match(String(rule.for), /^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/, `${where}: for is a Prometheus duration`);
    assert.ok(['critical', 'warning', 'info'].includes(String(rule.labels?.severity)), `${where}: labels.severity`);
    assert.ok(typeof rule.annotations?.summary === 'string' && rule.annotations.summary.trim() !== '', `${where}: annotations.summary`);
    assert.ok(typeof rule.annotations?.description === 'string' && rule.annotations.description.trim() !== '', `${where}: annotations.description`);
  }
  for (const expression of ruleExpressions) assertParses(expression.analysis, expression.where);
  // What the rules must watch.
  const watched = metricsOf(ruleExpressions);
  for (const metric of [
    'up',
    'medical_consumer_lag',
    'medical_events_dead_lettered_total',
    'medical_events_failed_total',
    'medical_outbox_pending',
    'medical_transport_up',
    'medical_events_refused_total',
    'http_request_duration_seconds_count',
    'medical_break_glass_total',
    'medical_access_records_dropped_total',
    'medical_access_records_unreadable_total',
    'medical_catalog_file_valid',
    'medical_queue_waiting',
    'medical_queue_median_wait_seconds',
    'medical_interop_deliveries_pending',
    'medical_interop_deliveries_total',
  ]) {
    assert.ok(watched.has(metric), `an alert watches ${metric}`);
  }
});

test('every service is alerted on when its pods are gone altogether (MedicalServiceAbsent names each)', () => {
  const found = rules.find(({ rule }) => rule.alert === 'MedicalServiceAbsent');
  assert.ok(found, 'alerts.yml has MedicalServiceAbsent');
  const absent = analyse(String(found.rule.expr)).selectors.map((s) => s.matchers.find((m) => m.label === 'service' && m.op === '=')?.value);
  assert.deepEqual(absent.sort(), [...SERVICE_NAMES].sort(), 'one absent(up{service=...}) per service');
});

test('interop\'s deliveries to other systems are alerted to the on-call engineer and the interface team: a line not taken for 15 minutes, and a message the engine refuses and interop sets aside', () => {
  const worker = fs.readFileSync(path.join(root, 'services', 'interop', 'src', 'app', 'delivery-worker.ts'), 'utf8');
  for (const [alert, metric, grouping] of [
    ['MedicalInteropDeliveriesBacklog', 'medical_interop_deliveries_pending', ['channel']],
    ['MedicalInteropMessagesSetAside', 'medical_interop_deliveries_total', ['channel']],
  ] as const) {
    const found = rules.find(({ rule }) => rule.alert === alert);
    assert.ok(found, `alerts.yml has ${alert}`);
    const { group, rule } = found;
    assert.equal(group, 'medical-visit-workflow.interop', alert);
    assert.equal(rule.labels?.severity, 'warning', `${alert}: the clinic goes on; another system is late or missing a message`);
    assert.equal(rule.labels?.audience, 'interface-team', `${alert}: told to the hospital's interface team too`);
    const analysis = analyse(String(rule.expr));
    assert.deepEqual([...new Set(analysis.selectors.map((s) => s.metric))], [metric], `${alert}: watches ${metric} only`);
    assert.deepEqual([...new Set(analysis.groupingLabels)], grouping, `${alert}: per channel, whatever the replicas`);
    // The log lines it points at are the ones the delivery worker writes.
    const description = String(rule.annotations?.description);
    const quoted = /\("([^"]+)": /.exec(description)?.[1];
    assert.ok(quoted, `${alert}: the description quotes the log line to look for, then its fields`);
    assert.ok(worker.includes(`'${quoted}'`), `${alert}: the delivery worker logs "${quoted}"`);
    assert.match(description, /interface team/, `${alert}: says whom it is for`);
  }
  // The backlog: a line that has not emptied once in 10 minutes, for 5 more: 15 minutes in all.
  const backlog = rules.find(({ rule }) => rule.alert === 'MedicalInteropDeliveriesBacklog')!.rule;
  assert.match(String(backlog.expr).replace(/\s+/g, ''), /min_over_time\(medical_interop_deliveries_pending\[10m\]\)\)>0$/, 'a line that never emptied in 10 minutes');
  assert.equal(backlog.for, '5m');
  assert.match(String(backlog.annotations?.description), /allow-interop-to-hospital-systems/, 'says which network policy opens the way');
  // Set aside: the worker counts the last refusal as set_aside (the others as delivered, retry and
  // refused); every message set aside alerts, at once, the first one included.
  const outcomes = [...worker.matchAll(/kind: '(\w+)'/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(outcomes)].sort(), ['delivered', 'refused', 'retry'], 'the outcomes of a try');
  assert.match(worker, /counted = 'set_aside';/, 'the last refusal counted as set_aside');
  const setAside = rules.find(({ rule }) => rule.alert === 'MedicalInteropMessagesSetAside')!.rule;
  const matchers = analyse(String(setAside.expr)).selectors.map((s) => s.matchers.map((m) => `${m.label}${m.op}${m.value}`).join());
  assert.deepEqual([...new Set(matchers)], ['outcome=set_aside'], 'the messages set aside only');
  assert.equal(setAside.for, '0m', 'every one, at once');
  assert.match(String(setAside.expr), /offset 15m/, 'the first refusal since the process started too (the labelled counter is created at 1)');
});

test('a gap in the access log is alerted: the gateway\'s dropped refusal records, and messages of the access-log topic that are no record', () => {
  for (const [alert, metric, words] of [
    ['MedicalAccessRecordsDropped', 'medical_access_records_dropped_total', [/gateway/, /medical\.access-log/, /privacy officer/, /allow-gateway-to-kafka/, /kafka-user-gateway/]],
    ['MedicalAccessRecordsUnreadable', 'medical_access_records_unreadable_total', [/medical\.access-log/, /access_log_unreadable/]],
  ] as const) {
    const found = rules.find(({ rule }) => rule.alert === alert);
    assert.ok(found, `alerts.yml has ${alert}`);
    const { group, rule } = found;
    assert.equal(group, 'medical-visit-workflow.privacy', `${alert}: with the other alerts about patient data access`);
    assert.equal(rule.labels?.severity, 'warning', `${alert}: the team looks at it; nothing stops the clinic`);
    assert.equal(rule.for, '0m', `${alert}: every one counts, at once`);
    // Any increase over 10 minutes, per service (the counter starts at 0 with the process).
    const analysis = analyse(String(rule.expr));
    assert.deepEqual(analysis.selectors.map((s) => s.metric), [metric], `${alert}: watches ${metric} only`);
    assert.deepEqual(analysis.groupingLabels, ['service'], `${alert}: per service`);
    assert.match(String(rule.expr).replace(/\s+/g, ''), new RegExp(`increase\\(${metric}\\[10m\\]\\)\\)>0$`), `${alert}: any increase in 10 minutes`);
    const description = String(rule.annotations?.description);
    for (const pattern of words) assert.match(description, pattern, `${alert}: the description says where to look`);
  }
});

test('an edit of the hospital\'s catalog that does not check is alerted: refused, the previous catalog in force, the reason in the services\' logs', () => {
  const found = rules.find(({ rule }) => rule.alert === 'MedicalCatalogFileInvalid');
  assert.ok(found, 'alerts.yml has MedicalCatalogFileInvalid');
  const { rule } = found;
  assert.equal(rule.labels?.severity, 'warning', 'the team looks at it: the catalog in force stays, nothing stops the clinic');
  assert.equal(rule.for, '5m', 'a refused edit that lasts 5 minutes, not one fixed at once');
  // The gauge each process sets to 0 while a change of the file does not check, per service.
  const analysis = analyse(String(rule.expr));
  assert.deepEqual([...new Set(analysis.selectors.map((s) => s.metric))], ['medical_catalog_file_valid']);
  assert.deepEqual(analysis.groupingLabels, ['service'], 'per service');
  assert.match(String(rule.expr).replace(/\s+/g, ''), /\(medical_catalog_file_valid\)==0$/, 'while the gauge is 0');
  const description = String(rule.annotations?.description);
  for (const words of [/edit was refused/, /previous catalog is still in force/, /services' logs/, /hospital-catalog/, /HOSPITAL_CATALOG_FILE/]) assert.match(description, words);
  // The log line it points at is the one the services write when they refuse the file.
  const quoted = /\("([^"]+)"\)/.exec(description)?.[1];
  assert.ok(quoted, 'the description quotes the log line to look for');
  const watcher = fs.readFileSync(path.join(root, 'packages', 'platform', 'src', 'reference', 'catalog-watch.ts'), 'utf8');
  assert.ok(watcher.includes(quoted), `the services log "${quoted}" when they refuse the file`);
});

test('a department whose queue or wait passes the limit of the hospital\'s catalog is told to the outpatient manager, once per department', () => {
  for (const [alert, figure, limit] of [
    ['MedicalQueueTooLong', 'medical_queue_waiting', 'medical_queue_waiting_limit'],
    ['MedicalQueueWaitTooLong', 'medical_queue_median_wait_seconds', 'medical_queue_median_wait_limit_seconds'],
  ] as const) {
    const found = rules.find(({ rule }) => rule.alert === alert);
    assert.ok(found, `alerts.yml has ${alert}`);
    const { group, rule } = found;
    assert.equal(group, 'medical-visit-workflow.waiting-room');
    assert.equal(rule.labels?.severity, 'info', `${alert}: never pages the on-call engineer: nothing is broken`);
    assert.equal(rule.labels?.audience, 'outpatient-manager');
    const analysis = analyse(String(rule.expr));
    // The figure against the limit the catalog sets, both exported by patient-management, matched by department.
    assert.deepEqual([...new Set(analysis.selectors.map((s) => s.metric))], [figure, limit], `${alert}: compares ${figure} with ${limit}`);
    assert.deepEqual([...new Set(analysis.groupingLabels)], ['department'], `${alert}: per department, each once whatever the replicas`);
    assert.match(String(rule.expr).replace(/\s+/g, ''), />on\(department\)/, `${alert}: above the limit, matched on the department`);
    assert.match(String(rule.annotations?.description), /queueLimits/, `${alert}: says where the limit is set`);
  }
});

test('break-glass access is told to the privacy officer: an info alert on every use, per service and route, saying where to review it', () => {
  const found = rules.find(({ rule }) => rule.alert === 'MedicalBreakGlassUsed');
  assert.ok(found, 'alerts.yml has MedicalBreakGlassUsed');
  const { rule } = found;
  assert.ok(['info', 'warning'].includes(String(rule.labels?.severity)), 'never pages the on-call engineer');
  assert.equal(rule.labels?.audience, 'privacy-officer');
  assert.equal(rule.for, '0m', 'every use, at once');
  const analysis = analyse(String(rule.expr));
  assert.deepEqual([...new Set(analysis.selectors.map((s) => s.metric))], ['medical_break_glass_total']);
  assert.deepEqual([...analysis.groupingLabels].sort(), ['route', 'service']);
  const description = String(rule.annotations?.description);
  for (const words of [/privacy officer/i, /audit_log/, /break_glass_reason/, /timeline/]) assert.match(description, words);
});

test('the dashboard is a well-formed Grafana dashboard on the datasource variable', () => {
  assert.equal(typeof dashboard.title, 'string');
  assert.ok(typeof dashboard.uid === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(dashboard.uid), 'uid: at most 40 letters, digits, - or _');
  assert.equal(typeof dashboard.schemaVersion, 'number');
  assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length > 0, 'panels');

  const variables = dashboard.templating?.list ?? [];
  for (const variable of variables) {
    assert.equal(typeof variable.name, 'string', `variable name: ${JSON.stringify(variable)}`);
    assert.equal(typeof variable.type, 'string', `variable ${String(variable.name)} type`);
  }
  const datasourceVariable = variables.find((v) => v.name === 'datasource');
  assert.equal(datasourceVariable?.type, 'datasource');
  assert.equal(datasourceVariable?.query, 'prometheus');
  const serviceVariable = variables.find((v) => v.name === 'service');
  assert.equal(serviceVariable?.type, 'query');
  assert.equal(serviceVariable?.definition, 'label_values(http_request_duration_seconds_count, service)');
  const usesVariable = (ds: { uid?: string } | undefined) => ds?.uid === '${datasource}' || ds?.uid === '$datasource';
  assert.ok(usesVariable(serviceVariable?.datasource), 'the service variable queries the chosen datasource');

  const ids = new Set<number>();
  const placed: Array<{ id: number; x: number; y: number; w: number; h: number }> = [];
  for (const panel of panels) {
    const where = `panel ${JSON.stringify(panel.id)} "${String(panel.title)}"`;
    assert.ok(Number.isInteger(panel.id) && (panel.id as number) > 0, `${where}: a positive integer id`);
    assert.ok(!ids.has(panel.id as number), `${where}: ids are unique`);
    ids.add(panel.id as number);
    assert.ok(typeof panel.type === 'string' && panel.type !== '', `${where}: type`);
    assert.ok(typeof panel.title === 'string' && panel.title !== '', `${where}: title`);
    const { h, w, x, y } = panel.gridPos ?? {};
    for (const [key, value] of Object.entries({ h, w, x, y })) assert.ok(Number.isInteger(value), `${where}: gridPos.${key} is an integer`);
    const pos = { id: panel.id as number, h: h as number, w: w as number, x: x as number, y: y as number };
    assert.ok(pos.x >= 0 && pos.y >= 0 && pos.w >= 1 && pos.h >= 1 && pos.x + pos.w <= 24, `${where}: inside the 24-column grid: ${JSON.stringify(panel.gridPos)}`);
    for (const other of placed) {
      const overlap = pos.x < other.x + other.w && other.x < pos.x + pos.w && pos.y < other.y + other.h && other.y < pos.y + pos.h;
      assert.ok(!overlap, `${where} overlaps panel ${other.id}`);
    }
    placed.push(pos);
    if (panel.type === 'row') continue;
    assert.ok(usesVariable(panel.datasource), `${where}: datasource is the \${datasource} variable: ${JSON.stringify(panel.datasource)}`);
    assert.ok(Array.isArray(panel.targets) && panel.targets.length > 0, `${where}: targets`);
    const refIds = new Set<string>();
    for (const target of panel.targets) {
      assert.ok(typeof target.refId === 'string' && target.refId !== '' && !refIds.has(target.refId), `${where}: unique refId`);
      refIds.add(target.refId as string);
      assert.ok(typeof target.expr === 'string' && target.expr.trim() !== '', `${where} ${String(target.refId)}: expr`);
      if (target.datasource) assert.ok(usesVariable(target.datasource), `${where} ${String(target.refId)}: datasource`);
    }
  }
});

test('every dashboard query is valid PromQL using declared variables only', () => {
  const declared = new Set((dashboard.templating?.list ?? []).map((v) => String(v.name)));
  for (const expression of dashboardExpressions) {
    assertParses(expression.analysis, expression.where);
    for (const variable of expression.variables) {
      assert.ok(variable in GRAFANA_BUILTINS || declared.has(variable), `${expression.where}: $${variable} is declared in templating`);
    }
  }
  const shown = metricsOf(dashboardExpressions);
  for (const metric of [
    'http_request_duration_seconds_count',
    'http_request_duration_seconds_bucket',
    'medical_events_published_total',
    'medical_events_consumed_total',
    'medical_events_failed_total',
    'medical_events_dead_lettered_total',
    'medical_consumer_lag',
    'medical_outbox_pending',
    'medical_visit_stage_seconds_bucket',
    'medical_visit_stage_seconds_count',
    'medical_queue_waiting',
    'medical_queue_median_wait_seconds',
    'medical_wait_seconds_bucket',
    'medical_interop_deliveries_pending',
    'medical_interop_deliveries_total',
  ]) {
    assert.ok(shown.has(metric), `a panel shows ${metric}`);
  }
});

test('both Prometheus configurations scrape the services\' metrics, keep the services\' labels and load the alert rules', () => {
  for (const { file, config } of prometheusConfigs) {
    assert.ok((config.rule_files ?? []).includes('alerts.yml'), `${file}: rule_files lists alerts.yml`);
    for (const ruleFile of config.rule_files ?? []) {
      // Prometheus resolves rule_files against the configuration file's directory.
      assert.ok(fs.existsSync(path.resolve(monitoring, ruleFile)), `${file}: rule file ${ruleFile} exists`);
    }
    assert.ok((config.scrape_configs ?? []).length > 0, `${file}: scrape_configs`);
    for (const job of config.scrape_configs ?? []) {
      // On Kubernetes through the Istio sidecar's merged endpoint (see the test below), locally /metrics.
      const expected = job.kubernetes_sd_configs ? '/stats/prometheus' : '/metrics';
      assert.equal(job.metrics_path ?? '/metrics', expected, `${file} ${job.job_name}: scrapes ${expected}`);
      assert.equal(job.honor_labels, true, `${file} ${job.job_name}: keeps the service label every series carries`);
    }
  }
  // The alerts' job matchers select the jobs of both configurations.
  const jobs = prometheusConfigs.flatMap(({ config }) => (config.scrape_configs ?? []).map((job) => job.job_name));
  for (const expression of ruleExpressions) {
    for (const matcher of expression.analysis.selectors.flatMap((s) => s.matchers).filter((m) => m.label === 'job')) {
      assert.equal(matcher.op, '=~', `${expression.where}: a job regex covering both configurations`);
      for (const job of jobs) assert.match(job, new RegExp(`^(?:${matcher.value})$`), `${expression.where}: ${matcher.value} selects job ${job}`);
    }
  }
});

test('on Kubernetes, the workflow\'s pods are discovered, named by service and scraped through the Istio sidecar', () => {
  const config = prometheusConfigs.find((c) => c.file === 'prometheus.yml')!.config;
  const job = config.scrape_configs!.find((j) => j.kubernetes_sd_configs !== undefined);
  assert.ok(job, 'a job with Kubernetes service discovery');
  assert.deepEqual(job.kubernetes_sd_configs!.map((sd) => sd.role), ['pod']);
  const relabel = job.relabel_configs ?? [];
  assert.ok(
    relabel.some(
      (r) => r.action === 'keep' && r.source_labels?.join() === '__meta_kubernetes_pod_label_app_kubernetes_io_part_of' && r.regex === 'medical-visit-workflow',
    ),
    'keeps only the pods that are part of medical-visit-workflow',
  );
  assert.ok(
    relabel.some((r) => r.source_labels?.join() === '__meta_kubernetes_pod_label_app_kubernetes_io_name' && r.target_label === 'service' && (r.action ?? 'replace') === 'replace'),
    'app.kubernetes.io/name becomes the service label',
  );
  assert.ok(
    relabel.some((r) => r.target_label === '__address__' && /:15020$/.test(r.replacement ?? '')),
    "the address is the pod's Istio agent, 15020, which serves the service's metrics (its prometheus.io/* annotations) merged with the sidecar's, since STRICT mTLS closes 8080 to plain-text scrapes",
  );
  assert.equal(job.metrics_path, '/stats/prometheus');
});

test('locally, every service is scraped on its documented port with its service label', () => {
  const config = prometheusConfigs.find((c) => c.file === 'prometheus.local.yml')!.config;
  const targets = config.scrape_configs!.flatMap((job) => (job.static_configs ?? []).flatMap((sc) => sc.targets.map((target) => ({ target, service: sc.labels?.service }))));
  assert.deepEqual(
    targets.map((t) => `${t.service} ${t.target}`).sort(),
    SERVICE_NAMES.map((name) => `${name} localhost:${DEFAULT_PORTS[name]}`).sort(),
  );
});

// ---- against the running services ------------------------------------------------------------------

/** What the services' /metrics expose: the series names, and the label names seen on each. */
type Exposition = { names: Set<string>; labels: Map<string, Set<string>>; sources: Map<string, Set<ServiceName>> };

function readExposition(texts: Array<{ service: ServiceName; text: string }>): Exposition {
  const names = new Set<string>();
  const labels = new Map<string, Set<string>>();
  const sources = new Map<string, Set<ServiceName>>();
  const add = (name: string, service: ServiceName) => {
    names.add(name);
    if (!sources.has(name)) sources.set(name, new Set());
    sources.get(name)!.add(service);
  };
  for (const { service, text } of texts) {
    for (const line of text.split('\n')) {
      // The TYPE line names the family even when it has no sample yet (a labelled counter
      // before its first increment, a histogram with no observation).
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
      if (type) {
        const [, family, kind] = type as unknown as [string, string, string];
        if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) add(family + suffix, service);
        else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) add(family + suffix, service);
        else if (kind === 'counter' && !family.endsWith('_total')) for (const suffix of ['', '_total']) add(family + suffix, service); // OpenMetrics names the family without _total
        else add(family, service);
        continue;
      }
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+\S+/.exec(line);
      if (!sample) continue;
      const [, name, labelText = ''] = sample as unknown as [string, string, string | undefined];
      add(name, service);
      if (!labels.has(name)) labels.set(name, new Set());
      for (const match of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.get(name)!.add(match[1]!);
    }
  }
  return { names, labels, sources };
}

/** Labels Prometheus adds to every series from its target (prometheus.yml, prometheus.local.yml). */
const TARGET_LABELS = ['job', 'instance', 'service', 'namespace', 'pod'];
/** `up` is not exposed by the services: Prometheus writes it for every scrape. */
const SYNTHETIC_SERIES = new Set(['up']);
/**
 * Labels of series that one visit going well does not create (prom-client creates a labelled
 * series at its first increment), as the services declare them.
 */
const LABELS_WITHOUT_SAMPLES: Record<string, string[]> = {
  medical_events_failed_total: ['type', 'reason'],
  medical_events_dead_lettered_total: ['type'],
  medical_events_refused_total: ['type'],
  medical_events_skipped_total: ['type', 'reason'],
  // interop's deliveries: none without a subscription or an interface engine, which a visit alone has not.
  medical_interop_deliveries_total: ['channel', 'outcome'],
  medical_interop_deliveries_pending: ['channel'],
};

describe('the metrics the dashboard and the rules use, against the running services (embedded profile)', () => {
  let exposition: Exposition;

  // One whole visit, so the labelled series (per route, status code, event type, partition,
  // stage) exist.
  useTestSystem('monitoring', 'embedded', async ({ client, system }) => {
    const visit = await driveVisit(client, { label: 'monitored', examinations: ['perform'], outcome: 'complete' });
    await waitForVisit(client, visit.receptionId, (v) => v.stage === 'CONFIRMED');
    const texts = await Promise.all(
      SERVICE_NAMES.map(async (service) => {
        const response = await fetch(`${system.services[service].url}/metrics`);
        assert.equal(response.status, 200, `${service} GET /metrics`);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain/, `${service} /metrics is Prometheus text`);
        return { service, text: await response.text() };
      }),
    );
    exposition = readExposition(texts);
  });

  test('every service exposes the http and process metrics, every backend service the event metrics', () => {
    for (const name of ['http_request_duration_seconds_bucket', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds']) {
      assert.deepEqual([...(exposition.sources.get(name) ?? [])].sort(), [...SERVICE_NAMES].sort(), `${name} on every service`);
    }
    for (const name of ['medical_events_published_total', 'medical_events_consumed_total', 'medical_events_failed_total', 'medical_events_dead_lettered_total']) {
      const on = exposition.sources.get(name) ?? new Set();
      for (const service of BACKEND_SERVICES) assert.ok(on.has(service), `${name} on ${service}`);
    }
  });

  for (const [what, expressions] of [
    ['the alert rules', ruleExpressions],
    ['the dashboard', dashboardExpressions],
  ] as const) {
    test(`every metric ${what} use is exposed by a service`, () => {
      const missing = [...metricsOf(expressions)].filter((m) => !SYNTHETIC_SERIES.has(m) && !exposition.names.has(m)).sort();
      assert.deepEqual(missing, [], `${what} use metrics that no service's /metrics exposes`);
    });

    test(`every label ${what} filter or group by exists on their metrics`, () => {
      const problems: string[] = [];
      for (const { where, analysis } of expressions) {
        const known = (metric: string) => {
          if (SYNTHETIC_SERIES.has(metric)) return new Set(TARGET_LABELS);
          return new Set([...TARGET_LABELS, ...(exposition.labels.get(metric) ?? []), ...(LABELS_WITHOUT_SAMPLES[metric] ?? [])]);
        };
        const metrics = analysis.selectors.map((s) => s.metric!).filter((m) => SYNTHETIC_SERIES.has(m) || exposition.names.has(m));
        if (metrics.length === 0) continue; // reported by the test above
        for (const selector of analysis.selectors) {
          if (!metrics.includes(selector.metric!)) continue;
          const labels = known(selector.metric!);
          for (const matcher of selector.matchers) {
            if (!labels.has(matcher.label)) problems.push(`${where}: ${selector.metric} has no label ${matcher.label}`);
          }
        }
        // A label grouped by (by, without, on, ignoring) comes from one of the expression's series;
        // le is the histogram buckets' label, which histogram_quantile needs.
        const anywhere = new Set(['le', ...metrics.flatMap((m) => [...known(m)])]);
        for (const label of analysis.groupingLabels) {
          if (!anywhere.has(label)) problems.push(`${where}: no series of ${analysis.expr} has the label ${label}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }
});
