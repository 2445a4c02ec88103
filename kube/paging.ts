/**
 * Paginated lists (limit/continue): the API server's answers stay bounded on clusters with many objects, and a
 * list too large for one answer still arrives whole.
 */
import type { RawApi } from './client.ts';
import type { RequestDescription } from './errors.ts';

/** Page size of list calls. */
export const PAGE = 500;

/** Every item of a paginated list made through a client-node-shaped call (`limit`, `_continue`). */
export async function listAll<T>(page: (opts: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: { _continue?: string } }>, size = PAGE): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const res = await page({ limit: size, ...(token ? { _continue: token } : {}) });
    out.push(...res.items);
    token = res.metadata?._continue || undefined;
  } while (token);
  return out;
}

/** Every item of a paginated list made as a plain JSON request (`limit`, `continue`). */
export async function listAllRaw<T>(raw: RawApi, path: string, describe: RequestDescription, opts: { query?: Record<string, string>; size?: number } = {}): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const query = { ...opts.query, limit: String(opts.size ?? PAGE), ...(token ? { continue: token } : {}) };
    const res = await raw.request<{ items?: T[] | null; metadata?: { continue?: string } }>('GET', path, { describe, query });
    for (const item of res.items ?? []) out.push(item);
    token = res.metadata?.continue || undefined;
  } while (token);
  return out;
}
