/**
 * Runner wiring beyond the scenario, in-process: the schedule event fires on its (scaled) timer and reaches the
 * real clone handler; a failing function target is retried per the function's retry settings and then written to
 * the dead-letter file. Both through the embedded cluster and the local bus.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { startDev } from '../../../infra/local/dev/index.ts';
import { createOutput } from '../../../infra/local/dev/output.ts';

const repo = resolve(import.meta.dirname, '../../..');

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ripple dev wiring', () => {
  it('fires the clone schedule with its input on the scaled timer', { timeout: 90_000 }, async () => {
    // Prepare
    let text = '';
    const out = createOutput((s) => void (text += s), { color: false, logs: 'none' });
    const session = await startDev({ cwd: repo, stateDir: mkdtempSync(join(tmpdir(), 'ripple-sched-')), scenario: false, rateScale: 300 }, out);
    try {
      // Act: rate(10 minutes) / 300 = every 2 s
      await until(() => Object.entries(session.invocations().clone ?? {}).some(([src, n]) => src.startsWith('schedule ') && n.ok > 0), 60_000);
      // Assess
      expect(text).toContain('schedule    rate(10 minutes) -> clone (every 2.0s with --rate-scale 300)');
      expect(text).toContain('schedule rate(10 minutes) (÷300) -> clone');
    } finally {
      await session.stop();
    }
  });

  it('retries a failing function target and writes the event to .ripple/dlq/<function>.jsonl', { timeout: 90_000 }, async () => {
    // Prepare: a service whose only function always fails
    const dir = mkdtempSync(join(tmpdir(), 'ripple-dlq-'));
    symlinkSync(join(repo, 'infra'), join(dir, 'infra'));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'events', 'patterns'), { recursive: true });
    writeFileSync(join(dir, 'events', 'patterns', 'boom.json'), JSON.stringify({ source: ['test.boom'] }));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'boom.ts'), "export const handler = async () => { throw new Error('always fails'); };\n");
    writeFileSync(
      join(dir, 'serverless.yml'),
      [
        'service: boom',
        'provider: { name: aws, region: eu-west-1 }',
        'functions:',
        '  boom:',
        '    handler: src/boom.handler',
        '    maximumRetryAttempts: 1',
        '    events:',
        '      - eventBridge:',
        '          pattern: ${file(./events/patterns/boom.json)}',
        '',
      ].join('\n'),
    );
    let text = '';
    const out = createOutput((s) => void (text += s), { color: false, logs: 'none' });
    const stateDir = join(dir, '.ripple');
    const session = await startDev({ cwd: dir, stateDir, scenario: false, retryScale: 600 }, out);
    const client = new EventBridgeClient({ endpoint: session.bus.url, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      // Act
      const put = await client.send(new PutEventsCommand({ Entries: [{ Source: 'test.boom', DetailType: 'Boom', Detail: '{"n":1}' }] }));
      const file = join(stateDir, 'dlq', 'boom.jsonl');
      await until(() => existsSync(file), 30_000);
      // Assess
      const record = JSON.parse(readFileSync(file, 'utf8').trim());
      expect(record).toMatchObject({ function: 'boom', source: 'rule boom-dev-boom-rule-1', attempts: 2, condition: 'RetriesExhausted', error: { name: 'Error', message: 'always fails' }, event: { id: put.Entries?.[0].EventId, source: 'test.boom', 'detail-type': 'Boom', detail: { n: 1 } } });
      expect(text).toContain('boom: attempt 1 failed (rule boom-dev-boom-rule-1): Error: always fails');
      expect(text).toContain('boom: RetriesExhausted after 2 attempt(s) (rule boom-dev-boom-rule-1): Error: always fails -> .ripple/dlq/boom.jsonl');
      expect(session.invocations().boom).toEqual({ 'rule boom-dev-boom-rule-1': { ok: 0, failed: 1 } });
    } finally {
      client.destroy();
      await session.stop();
    }
  });
});
