/**
 * Child process of bench/forwarder.ts (run with --expose-gc): lists and watches every Secret of the cluster
 * in `kubeconfig` with either the forwarder (`ripple`) or a plain client-node informer (`informer`), waits for
 * the initial list to be held, and prints the retained heap as one JSON line.
 *   node --expose-gc bench/_forwarder-memory.ts <ripple|informer> <kubeconfig-file> <expected-count>
 */
import { readFileSync } from 'node:fs';
import { KubeConfig, CoreV1Api, makeInformer } from '@kubernetes/client-node';
import { startForwarder } from '../forwarder/index.ts';

const [mode, kubeconfigFile, expectedRaw] = process.argv.slice(2);
const expected = Number(expectedRaw);
const t0 = Date.now();
const mark = (what: string) => process.stderr.write(`[${mode}] ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heap(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const kc = new KubeConfig();
kc.loadFromString(readFileSync(kubeconfigFile, 'utf8'));
const core = kc.makeApiClient(CoreV1Api);
// Warm both code paths' modules before the baseline, so the delta is the objects' cost.
await core.listSecretForAllNamespaces({ limit: 1 });

mark('modules loaded');
const before = heap();
let count: number;
let stop: () => Promise<void>;
if (mode === 'ripple') {
  const fwd = await startForwarder(
    { cluster: 'bench', kubeConfig: kc, eventBusName: 'ripple', eventBridge: { region: 'us-east-1' }, kinds: ['Secret'], leaderElection: false, httpPort: null },
    { fingerprintKey: Buffer.alloc(32, 7), log: process.env.FORWARDER_BENCH_VERBOSE ? (l, m, f) => process.stderr.write(`${l} ${m} ${JSON.stringify(f)}\n`) : () => {}, putEvents: async (entries) => ({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'x' })) }) },
  );
  await fwd.synced;
  count = Number(/ripple_forwarder_objects\{kind="Secret"\} (\d+)/.exec(fwd.metrics())![1]);
  stop = async () => void (await fwd.stop());
} else {
  const informer = makeInformer(kc, '/api/v1/secrets', () => core.listSecretForAllNamespaces());
  await informer.start();
  count = informer.list().length;
  stop = () => informer.stop();
}
mark('objects held');
const after = heap();
if (count !== expected) throw new Error(`${mode}: holds ${count} objects, expected ${expected}`);
console.log(JSON.stringify({ mode, objects: count, retainedBytes: after - before, bytesPerObject: Math.round((after - before) / count) }));
mark('measured');
await stop();
mark('stopped');
process.exit(0);
