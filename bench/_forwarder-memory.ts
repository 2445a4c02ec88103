/**
 * Child process of bench/forwarder.ts (run with --expose-gc): holds every Secret of the cluster in `kubeconfig`
 * with either the forwarder (`ripple`) or a plain client-node informer (`informer`) and prints the retained heap
 * per object as one JSON line.
 *
 * Memory is split in two:
 * - data: JS heap data spaces (new, old, large-object) + ArrayBuffer memory (the forwarder's state table lives in
 *   ArrayBuffers) — what objects are held in;
 * - code: V8's code spaces and trusted space (compiled machine code, bytecode, deoptimization data) — the cost of
 *   the code that runs, which grows once as the list/diff path is compiled and does not grow with the object count.
 * Per object = (data while holding the N Secrets − data while the same machinery runs with a label selector
 * that matches nothing) / N. The code delta and the all-in figure ((data + code delta) / N) are printed as well.
 *   node --expose-gc bench/_forwarder-memory.ts <ripple|informer> <kubeconfig-file> <expected-count>
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { KubeConfig, CoreV1Api, makeInformer } from '@kubernetes/client-node';
import { startForwarder } from '../forwarder/index.ts';

const [mode, kubeconfigFile, expectedRaw] = process.argv.slice(2);
const expected = Number(expectedRaw);
const t0 = Date.now();
const mark = (what: string) => process.stderr.write(`[${mode}] ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

/** V8 spaces holding code rather than data (machine code, bytecode and its metadata). */
const CODE_SPACES = new Set(['code_space', 'code_large_object_space', 'trusted_space', 'trusted_large_object_space', 'shared_trusted_space', 'shared_trusted_large_object_space']);

/** After GC: data (JS heap data spaces + ArrayBuffer backing stores, off the JS heap but kept all the same) and code. */
function heap(): { data: number; code: number } {
  for (let i = 0; i < 4; i++) gc!();
  const m = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics();
  let data = m.arrayBuffers;
  let code = 0;
  for (const s of spaces) {
    if (CODE_SPACES.has(s.space_name)) code += s.space_used_size;
    else data += s.space_used_size;
  }
  if (process.env.FORWARDER_BENCH_VERBOSE) {
    const bySpace = Object.fromEntries(spaces.map((s) => [s.space_name, s.space_used_size]));
    process.stderr.write(`[${mode}] heapUsed ${m.heapUsed} arrayBuffers ${m.arrayBuffers} ${JSON.stringify(bySpace)}\n`);
  }
  return { data, code };
}

const kc = new KubeConfig();
kc.loadFromString(readFileSync(kubeconfigFile, 'utf8'));
const core = kc.makeApiClient(CoreV1Api);
const NONE = 'ripple-bench=matches-nothing';

/** Start a holder of the Secrets matching `selector`; resolves once they are held. */
async function hold(selector?: string): Promise<{ count: number; stop: () => Promise<void> }> {
  if (mode === 'ripple') {
    const fwd = await startForwarder(
      { cluster: 'bench', kubeConfig: kc, eventBusName: 'ripple', eventBridge: { region: 'us-east-1' }, kinds: ['Secret'], leaderElection: false, httpPort: null, ...(selector ? { labelSelector: selector } : {}) },
      {
        fingerprintKey: Buffer.alloc(32, 7),
        log: process.env.FORWARDER_BENCH_VERBOSE ? (l, m, f) => process.stderr.write(`${l} ${m} ${JSON.stringify(f)}\n`) : () => {},
        putEvents: async (entries) => ({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'x' })) }),
      },
    );
    await fwd.synced;
    const count = Number(/ripple_forwarder_objects\{kind="Secret"\} (\d+)/.exec(fwd.metrics())![1]);
    return { count, stop: async () => void (await fwd.stop()) };
  }
  const informer = makeInformer(kc, '/api/v1/secrets', () => core.listSecretForAllNamespaces(selector ? { labelSelector: selector } : {}), selector);
  await informer.start();
  return { count: informer.list().length, stop: () => informer.stop() };
}

// Warm the code paths once (compiled code and caches are a fixed cost).
await (await hold(NONE)).stop();
const idle = await hold(NONE);
const fixed = heap();
await idle.stop();
mark('fixed cost measured');
const full = await hold();
const held = heap();
mark('objects held');
if (full.count !== expected) throw new Error(`${mode}: holds ${full.count} objects, expected ${expected}`);
const retained = held.data - fixed.data;
const codeGrowth = held.code - fixed.code;
console.log(
  JSON.stringify({
    mode,
    objects: full.count,
    fixedBytes: fixed.data + fixed.code,
    retainedBytes: retained,
    codeGrowthBytes: codeGrowth,
    bytesPerObject: Math.round(retained / full.count),
    allInBytesPerObject: Math.round((retained + codeGrowth) / full.count),
  }),
);
await full.stop();
mark('stopped');
process.exit(0);
