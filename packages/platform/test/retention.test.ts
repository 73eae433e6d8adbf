import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { ConfigError } from '../src/lib/env.ts';
import { RETENTION_RULES, retentionDays, retentionMs } from '../src/retention/policy.ts';
import { loadConfig } from '../src/service/config.ts';
import { openKafkaTransport } from '../src/transport/kafka.ts';
import { kafkaTestOptions } from './helpers.ts';

/** The retention table (issue 19): its rules, its settings, and the Kafka topics that follow it. */

describe('the retention table', () => {
  test('clinical records, attachments, the audit trail, the event log and dead letters are never purged by the system', () => {
    for (const kind of ['clinical-records', 'attachments', 'audit-log', 'event-log', 'dead-letters'] as const) {
      assert.equal(retentionDays(kind), undefined, kind);
      assert.equal(retentionMs(kind), -1, kind);
    }
  });

  test('every rule says what, for how long, why, and what removes it; each kind once', () => {
    assert.equal(new Set(RETENTION_RULES.map((r) => r.kind)).size, RETENTION_RULES.length);
    for (const rule of RETENTION_RULES) {
      for (const field of ['what', 'reason', 'purgedBy'] as const) assert.ok(rule[field].length > 10, `${rule.kind}: ${field}`);
      if ('days' in rule.keep) assert.ok(rule.keep.days >= (rule.keep.minimumDays ?? 1), `${rule.kind}: its default is not below its minimum`);
    }
  });

  test('a setting may lengthen a period, never shorten it below its legal or technical minimum', () => {
    assert.equal(retentionDays('access-log'), 1825);
    assert.equal(retentionDays('access-log', { ACCESS_LOG_RETENTION_DAYS: '3650' }), 3650);
    assert.throws(() => retentionDays('access-log', { ACCESS_LOG_RETENTION_DAYS: '365' }), (error: Error) => error instanceof ConfigError && /ACCESS_LOG_RETENTION_DAYS/.test(error.message));
    assert.throws(() => retentionDays('inbox', { INBOX_RETENTION_DAYS: '7' }), ConfigError);
    assert.equal(retentionDays('backups', { BACKUP_RETENTION_DAYS: '14' }), 14);
    assert.equal(loadConfig('reception', 0, { INBOX_RETENTION_DAYS: '45' }).inboxRetentionDays, 45);
  });

  test('a period set below its minimum stops a service\'s start, naming the setting', () => {
    assert.throws(() => loadConfig('reception', 0, { ACCESS_LOG_RETENTION_DAYS: '365' }), /ACCESS_LOG_RETENTION_DAYS/);
    assert.throws(() => loadConfig('reception', 0, { BACKUP_RETENTION_DAYS: '1' }), /BACKUP_RETENTION_DAYS/);
  });

  test('docs/OPERATIONS.md shows the table as it is: each kind once, its period and its setting', () => {
    const page = fs.readFileSync(path.join(import.meta.dirname, '..', '..', '..', 'docs', 'OPERATIONS.md'), 'utf8');
    const rows = page.split('\n').filter((line) => /^\| [a-z-]+: /.test(line)).map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
    assert.deepEqual(rows.map((cells) => cells[0]!.split(':')[0]).sort(), RETENTION_RULES.map((r) => r.kind).sort());
    for (const rule of RETENTION_RULES) {
      const cells = rows.find((c) => c[0]!.startsWith(`${rule.kind}:`))!;
      const kept = 'forever' in rule.keep ? 'for good' : `${rule.keep.days} day${rule.keep.days === 1 ? '' : 's'}`;
      assert.equal(cells[1], kept, `${rule.kind}: kept`);
      const setting = 'forever' in rule.keep || !rule.keep.setting ? '—' : `\`${rule.keep.setting}\` (${rule.keep.minimumDays})`;
      assert.equal(cells[2], setting, `${rule.kind}: setting`);
    }
  });

  test('a service\'s three topics get their kind\'s retention', () => {
    const config = loadConfig('reception', 0, { KAFKA_TOPIC: 'ward', ACCESS_LOG_TOPIC: 'ward.reads' });
    assert.deepEqual(config.topicRetentionMs, { ward: -1, 'ward.dlq': -1, 'ward.reads': 90 * 24 * 60 * 60 * 1000 });
  });
});

const skip = process.env.KAFKA_BROKERS ? false : 'KAFKA_BROKERS is not set: start a broker with `eval "$(npm run -s infra:up)"`';

describe('topics created by a service carry the retention table\'s retention.ms', { skip }, () => {
  test('the event log kept for good, the access-log topic 90 days', async () => {
    const brokers = process.env.KAFKA_BROKERS!.split(',');
    const events = `retention-${randomUUID()}`;
    const reads = `${events}.access-log`;
    const config = loadConfig('reception', 0, { KAFKA_TOPIC: events, KAFKA_BROKERS: process.env.KAFKA_BROKERS });
    const transport = await openKafkaTransport(kafkaTestOptions({ brokers, clientId: 'retention-test', topics: [events, reads], topicRetentionMs: config.topicRetentionMs }));
    const admin = new Admin({ clientId: 'retention-test-admin', bootstrapBrokers: brokers });
    try {
      const described = await admin.describeConfigs({ resources: [events, reads].map((name) => ({ resourceType: 2, resourceName: name, configurationKeys: ['retention.ms'] })) });
      const retention = Object.fromEntries(described.map((d) => [d.resourceName, d.configs.find((c) => c.name === 'retention.ms')?.value]));
      assert.deepEqual(retention, { [events]: '-1', [reads]: String(90 * 24 * 60 * 60 * 1000) });
    } finally {
      await transport.close();
      await admin.deleteTopics({ topics: [events, reads] }).catch(() => {});
      await admin.close();
    }
  });
});
