/**
 * `npm run bench -- matchers`: throughput of the local matchers on ripple's own inputs — the rendered EventBridge
 * patterns (events/patterns/*.json) against the delivered-event samples (events/samples/*.json), and the rendered
 * audit-log filter against an EKS audit record — plus one local PutEvents round trip through the SDK.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { HANDLERS } from '../core/constants.ts';
import { startEventBridge } from '../infra/local/eventbridge/index.ts';
import { compileLogsFilter } from '../infra/local/eventbridge/logs-filter.ts';
import { matches } from '../infra/local/eventbridge/pattern.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function perSecond(fn: () => void, ms = 1500): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return Math.round(n / ((performance.now() - start) / 1000));
}

export async function run(): Promise<void> {
  const patternDir = join(root, 'events', 'patterns');
  const names = HANDLERS.filter((n) => readdirSync(patternDir).includes(`${n}.json`));
  const patterns = names.map((n) => JSON.parse(readFileSync(join(patternDir, `${n}.json`), 'utf8')) as object);
  const sampleDir = join(root, 'events', 'samples');
  const events = readdirSync(sampleDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(sampleDir, f), 'utf8')) as object);
  if (patterns.length && events.length) {
    const rate = perSecond(() => {
      for (const p of patterns) for (const e of events) matches(p, e);
    });
    console.log(`event patterns: ${(rate * patterns.length * events.length).toLocaleString('en')} matches/s (${patterns.length} rendered patterns x ${events.length} samples)`);
  } else {
    console.log('event patterns: skipped (render events/patterns first: npm run ripple -- render all)');
  }

  const filterFile = join(patternDir, 'protect-audit-filter.json');
  const filter = compileLogsFilter(readdirSync(patternDir).includes('protect-audit-filter.json') ? (JSON.parse(readFileSync(filterFile, 'utf8')) as string) : '{ $.objectRef.resource = "secrets" }');
  const record = JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete', verb: 'delete', user: { username: 'alice', groups: ['system:authenticated'] }, objectRef: { resource: 'secrets', namespace: 'platform', name: 'blogsecret', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 403 } });
  console.log(`audit-log filter: ${perSecond(() => filter(record)).toLocaleString('en')} records/s (JSON.parse included)`);

  const bus = await startEventBridge();
  const client = new EventBridgeClient({ endpoint: bus.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const entries = Array.from({ length: 10 }, (_, i) => ({ Source: 'bench', DetailType: 'Bench', Detail: JSON.stringify({ i }) }));
  await client.send(new PutEventsCommand({ Entries: entries }));
  const rounds = 200;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await client.send(new PutEventsCommand({ Entries: entries }));
  const ms = (performance.now() - start) / rounds;
  console.log(`local PutEvents (SDK, 10 entries): ${ms.toFixed(2)} ms per call, ${Math.round((10 * 1000) / ms).toLocaleString('en')} entries/s`);
  client.destroy();
  await bus.stop();
}
