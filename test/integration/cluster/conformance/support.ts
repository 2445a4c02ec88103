/**
 * Helpers of the conformance suite: each test is named after the `testname` of its entry in kubernetes/kubernetes
 * test/conformance/testdata/conformance.yaml (the codename in parentheses where a testname is shared), and checks
 * that entry's MUSTs through client-node, kubectl or a raw request against one embedded cluster per file.
 */
import { PatchStrategy, setHeaderOptions, Watch, type KubeConfig } from '@kubernetes/client-node';
import { eventually } from '../../../support/cluster.ts';

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** The status code and Status body of a rejected client-node call (throws if it did not fail). */
export async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    let body: any = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // keep the text
      }
    }
    return { code: e.code ?? 0, body };
  }
  throw new Error('expected the call to fail');
}

export interface WatchEvent { type: string; object: any }

/** A watch through client-node's Watch: the events as they come, until stop(). */
export async function watchEvents(kc: KubeConfig, path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<{ events: WatchEvent[]; stop(): void; waitFor(n: number, what?: string): Promise<WatchEvent[]> }> {
  const events: WatchEvent[] = [];
  const req = await new Watch(kc).watch(path, query, (type, object) => { events.push({ type, object }); }, () => undefined);
  return {
    events,
    stop: () => req.abort(),
    waitFor: async (n, what = `${n} events on ${path}`) => {
      await eventually(what, () => events.length >= n);
      return events.slice(0, n);
    },
  };
}

/** [type, name] of each event (BOOKMARKs left out). */
export const summary = (events: WatchEvent[]) => events.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object?.metadata?.name]);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
