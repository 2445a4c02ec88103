/**
 * Pattern size as a user meets it: `ripple render patterns` (the real CLI in a child process) over a policy
 * directory of many policies writes patterns within EventBridge's "Event pattern size" quota and says which
 * widening it applied; the rendered files are created as rules on the local EventBridge with
 * @aws-sdk/client-eventbridge (only the endpoint changed), and the forwarder's PutEvents entries (built with the
 * event schema's helpers) reach every rule they must. Too long even in the widest form: exit 1 with the reason;
 * `--pattern-limit` / RIPPLE_PATTERN_LIMIT raise the limit.
 */
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand } from '@aws-sdk/client-eventbridge';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { objectChangeEntry, type ObjectChangeDetail, type PutEntry } from '../../../events/schema.ts';
import { DETAIL_BASE } from '../../support/events.ts';
import { DETAIL_TYPES, HANDLERS, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../../core/constants.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ripple-pattern-size-'));

interface Spec {
  kind: 'Secret' | 'ConfigMap';
  namespace: string;
  name: string;
}
/** n policies over `namespaces` namespaces, kinds alternating; all sync and reload; `protect` on the first few. */
function specs(n: number, namespaces: number, name: (i: number) => string): Spec[] {
  return Array.from({ length: n }, (_, i) => ({ kind: i % 2 ? 'ConfigMap' : 'Secret', namespace: `team-${i % namespaces}`, name: name(i) }));
}
function policyDir(sub: string, list: Spec[], protectFirst = 0): string {
  const d = join(dir, sub);
  mkdirSync(d, { recursive: true });
  const docs = list.map((s, i) => ({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: `p-${i}` }, spec: { source: s, sync: {}, reload: {}, ...(i < protectFirst ? { protect: {} } : {}) } }));
  writeFileSync(join(d, 'many.yaml'), docs.map((doc) => stringify(doc)).join('---\n'));
  return d;
}

function ripple(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/ripple.ts', ...args], { cwd: process.cwd(), env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}

const MANY = specs(100, 25, (i) => `app-${i}`);

let bus: LocalEventBridge;
let client: EventBridgeClient;
beforeAll(async () => {
  bus = await startEventBridge();
  client = new EventBridgeClient({ endpoint: bus.url, region: bus.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  await client.send(new CreateEventBusCommand({ Name: 'ripple' }));
});
afterAll(async () => {
  client?.destroy();
  await bus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('100 policies in 25 namespaces', () => {
  const out = join(dir, 'out');
  let run: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    run = await ripple(['render', 'patterns', '--policies', policyDir('many', MANY, 10), '--out', out]);
  });

  it('renders, saying per handler which form it rendered and how long it is', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^clone pattern: \d+ of 2048 characters, widened to "copy-kinds" \(the exact form is \d+\): every object of a source kind in a source namespace; /m);
    expect(run.stdout).toMatch(/^rollout pattern: \d+ of 2048 characters, widened to "any-change" \(the exact form is \d+\): /m);
    expect(run.stdout).toMatch(/^protect pattern: \d+ of 2048 characters(, widened to "[a-z-]+" \(the exact form is \d+\): .*| \(exact\))$/m);
    expect(run.stdout).toMatch(/^wrote events\/patterns\/clone\.json$/m);
  });

  it('every rendered pattern is accepted by PutRule and within the limit', async () => {
    for (const h of HANDLERS) {
      const pattern = JSON.stringify(JSON.parse(readFileSync(join(out, 'events/patterns', `${h}.json`), 'utf8')));
      expect(pattern.length).toBeLessThanOrEqual(2048);
      await client.send(new PutRuleCommand({ Name: `ripple-test-${h}`, EventBusName: 'ripple', EventPattern: pattern }));
    }
  });

  it("the forwarder's events for every policy reach the rules they must", async () => {
    const base = DETAIL_BASE;
    const cases: { entry: PutEntry; want: string[] }[] = [];
    MANY.forEach((s, i) => {
      const src: ObjectChangeDetail = { ...base, ...s, changes: ['data'] };
      cases.push({ entry: objectChangeEntry(DETAIL_TYPES.updated, src, 'ripple'), want: ['clone', 'rollout', ...(i < 10 ? ['protect'] : [])] });
      const copy: ObjectChangeDetail = { ...base, kind: s.kind, namespace: 'copies-only', name: s.name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE }, manager: 'ripple', changes: ['data', 'annotations'] };
      cases.push({ entry: objectChangeEntry(DETAIL_TYPES.updated, copy, 'ripple'), want: ['rollout'] });
      cases.push({ entry: objectChangeEntry(DETAIL_TYPES.deleted, { ...copy, labels: {}, manager: undefined, changes: [] }, 'ripple'), want: ['clone'] });
    });
    const missed: string[] = [];
    for (let i = 0; i < cases.length; i += 10) {
      const batch = cases.slice(i, i + 10);
      const res = await client.send(new PutEventsCommand({ Entries: batch.map((c) => c.entry) }));
      expect(res.FailedEntryCount).toBe(0);
      batch.forEach((c, j) => {
        const got = bus.matchedBy(res.Entries![j].EventId!).filter((r) => r.startsWith('ripple-test-')).map((r) => r.slice('ripple-test-'.length));
        for (const h of c.want) if (!got.includes(h)) missed.push(`${c.entry.DetailType} ${c.entry.Resources?.[0]} -> ${h}`);
        if (!c.want.includes('protect') && got.includes('protect')) missed.push(`${c.entry.Resources?.[0]} must not reach protect`);
      });
    }
    expect(missed).toEqual([]);
  });

  it('--check agrees with the files it wrote', async () => {
    const r = await ripple(['render', 'patterns', '--policies', join(dir, 'many'), '--out', out, '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rendered files up to date/);
  });
});

describe('too long even in the widest form', () => {
  // 100 reloading policies with 16-character names: every named rollout form is over 2048, its name-free form fits
  const policies = policyDir('long', specs(100, 100, (i) => `app-${String(i).padStart(3, '0')}-settings`));
  const out = join(dir, 'out-long');

  it('exits 1 naming the handler, the size and what to do; writes nothing', async () => {
    const r = await ripple(['render', 'patterns', '--policies', policies, '--out', out, '--pattern-limit', '60']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^the \w+ event pattern is \d+ characters even in its widest form "kinds" .*quota is 60\. Raise the quota .*--pattern-limit <N>/m);
    expect(() => readFileSync(join(out, 'events/patterns/rollout.json'))).toThrow(/ENOENT/);
  });

  it('at the default quota, rollout renders its name-free form', async () => {
    const r = await ripple(['render', 'patterns', '--policies', policies, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rollout pattern: \d+ of 2048 characters, widened to "kinds"/m);
  });

  it.each([
    ['--pattern-limit 4096', ['--pattern-limit', '4096'], {}],
    ['RIPPLE_PATTERN_LIMIT=4096', [], { RIPPLE_PATTERN_LIMIT: '4096' }],
  ])('renders with a raised quota (%s)', async (_n, args, env) => {
    const r = await ripple(['render', 'patterns', '--policies', policies, '--out', out, ...args], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rollout pattern: \d+ of 4096 characters, widened to "[a-z-]+"/m);
    const pattern = JSON.stringify(JSON.parse(readFileSync(join(out, 'events/patterns/rollout.json'), 'utf8')));
    expect(pattern.length).toBeGreaterThan(2048);
    expect(pattern.length).toBeLessThanOrEqual(4096);
  });

  it('rejects a limit that is not a whole number', async () => {
    const r = await ripple(['render', 'patterns', '--policies', policies, '--out', out, '--pattern-limit', '4k']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--pattern-limit: "4k" is not a positive whole number of characters/);
  });
});
