/**
 * Paginated lists (limit/continue): the API server's answers stay bounded on clusters with many objects, and a
 * list too large for one answer still arrives whole.
 *
 * A paged list can outlive its snapshot: the API server answers 410 Expired to a continue token older than its
 * storage's compaction (etcd compacts every 5 min on EKS; on a busy cluster a slow reader sees it sooner). Whole
 * lists (listAll, listAllRaw) then do what client-go's pager does: one full list, without limit, consistent.
 * Streaming readers that must not hold everything (namespacePages, CopyStream in functions/clone/read.ts) take
 * the server's other remedy through `pageAfter`.
 */
import type { RawApi } from './client.ts';
import { ExpiredError, type RequestDescription } from './errors.ts';

/** Page size of list calls. */
export const PAGE = 500;

/** Every item of a paginated list made through a client-node-shaped call (`limit`, `_continue`). */
export async function listAll<T>(page: (opts: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: { _continue?: string } }>, size = PAGE): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    let res: { items: T[]; metadata?: { _continue?: string } };
    try {
      res = await page({ limit: size, ...(token ? { _continue: token } : {}) });
    } catch (err) {
      // expired mid-way: the whole list again, in one answer (limit 0 = none), as client-go's pager does
      if (!(token && err instanceof ExpiredError)) throw err;
      return (await page({ limit: 0 })).items;
    }
    out.push(...res.items);
    token = res.metadata?._continue || undefined;
  } while (token);
  return out;
}

/**
 * The token to go on with after `err`, when it is a continue token's expiry whose Status carries the server's
 * inconsistent continuation: the keys after the last one listed, as they are now. A reader that walks keys in
 * order and acts on each object's current state (the clone's namespace and copy pages: their writes carry
 * resourceVersion preconditions, and a namespace created meanwhile has its own event) loses nothing by it.
 */
export function continueAfterExpiry(err: unknown, token: string | undefined): string | undefined {
  return token && err instanceof ExpiredError ? err.continueToken : undefined;
}

/**
 * One page of a streaming reader: `fetch(token)`, and when the token has expired, the page after the last key as
 * things are now (continueAfterExpiry). The loops of namespacePages, CopyStream, the copy modes' scans and a set's
 * members all page through this.
 */
export async function pageAfter<T>(token: string | undefined, fetch: (token: string | undefined) => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fetch(token);
    } catch (err) {
      const next = continueAfterExpiry(err, token);
      if (!next) throw err;
      token = next;
    }
  }
}

/** Every item of a paginated list made as a plain JSON request (`limit`, `continue`). */
export async function listAllRaw<T>(raw: RawApi, path: string, describe: RequestDescription, opts: { query?: Record<string, string>; size?: number } = {}): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const query = { ...opts.query, limit: String(opts.size ?? PAGE), ...(token ? { continue: token } : {}) };
    let res: { items?: T[] | null; metadata?: { continue?: string } };
    try {
      res = await raw.request<{ items?: T[] | null; metadata?: { continue?: string } }>('GET', path, { describe, query });
    } catch (err) {
      // expired mid-way: the whole list again, in one answer, as client-go's pager does
      if (!(token && err instanceof ExpiredError)) throw err;
      return (await raw.request<{ items?: T[] | null }>('GET', path, { describe, query: { ...opts.query } })).items ?? [];
    }
    for (const item of res.items ?? []) out.push(item);
    token = res.metadata?.continue || undefined;
  } while (token);
  return out;
}
