/**
 * Authentication for the embedded API server, as kube-apiserver does it:
 * - bearer tokens (`Authorization: Bearer <token>`) looked up in a static token table (the `--token-auth-file`
 *   CSV format: `token,user,uid,"group1,group2"`); every authenticated user also gets `system:authenticated`;
 * - impersonation headers (`Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid`, `Impersonate-Extra-<key>`),
 *   parsed here; the pipeline authorizes them (verb `impersonate`, see `impersonationChecks`) before switching.
 *
 * Pipeline use (server.ts):
 *   const user = authenticator.authenticate(req.headers);            // null -> 401 Unauthorized
 *   const imp = impersonation(req.headersDistinct);                  // throws ImpersonationError -> 400 BadRequest
 *   if (imp) for (const a of impersonationChecks(user, imp)) {       // each must be allowed, else 403 with
 *     if (!authorize(a, rbac).allowed) -> forbidden(a)               //   forbiddenMessage(a), exactly as kube
 *   }
 *   const effective = imp ? impersonatedUser(imp) : user;
 * Pass `req.headersDistinct` (not `req.headers`) to `impersonation` when you can: Node joins repeated custom
 * headers with ", ", which `impersonation` can only undo by splitting on ", ".
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestAttributes } from './rbac.ts';

export interface UserInfo { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }
export interface TokenEntry { token: string; user: string; uid?: string; groups: string[] }

export const GROUP_AUTHENTICATED = 'system:authenticated';
export const GROUP_UNAUTHENTICATED = 'system:unauthenticated';
export const GROUP_MASTERS = 'system:masters';
export const USER_ANONYMOUS = 'system:anonymous';
const SA_PREFIX = 'system:serviceaccount:';

type HeaderBag = IncomingHttpHeaders | NodeJS.Dict<string | string[]>;

/** `system:serviceaccount:<ns>:<name>` with groups `system:serviceaccounts`, `system:serviceaccounts:<ns>`. */
export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return {
    username: `${SA_PREFIX}${namespace}:${name}`,
    ...(uid ? { uid } : {}),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, GROUP_AUTHENTICATED],
  };
}

/** `{ namespace, name }` when `username` is a ServiceAccount user name, else null. */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | null {
  if (!username.startsWith(SA_PREFIX)) return null;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
  return { namespace: parts[0], name: parts[1] };
}

function withAuthenticated(groups: string[]): string[] {
  return groups.includes(GROUP_AUTHENTICATED) ? [...groups] : [...groups, GROUP_AUTHENTICATED];
}

function bearerToken(headers: HeaderBag): string | null {
  let auth = headers.authorization;
  if (Array.isArray(auth)) auth = auth[0];
  if (typeof auth !== 'string') return null;
  // kube's bearertoken authenticator: trim, split on single spaces, scheme case-insensitive, token = 2nd part
  const parts = auth.trim().split(' ');
  if (parts.length < 2 || parts[0].toLowerCase() !== 'bearer') return null;
  return parts[1] || null;
}

export class Authenticator {
  private readonly byToken = new Map<string, TokenEntry>();

  constructor(tokens: TokenEntry[] = []) {
    for (const t of tokens) this.add(t);
  }

  /** Registers (or replaces) a token. */
  add(e: TokenEntry): void {
    if (!e.token) throw new Error('token entry: token must not be empty');
    if (!e.user) throw new Error(`token entry for token #${this.byToken.size + 1}: user must not be empty`);
    this.byToken.set(e.token, { token: e.token, user: e.user, ...(e.uid ? { uid: e.uid } : {}), groups: [...(e.groups ?? [])] });
  }

  /** The user behind the request's bearer token, or null (missing or unknown token: answer 401). */
  authenticate(headers: HeaderBag): UserInfo | null {
    const token = bearerToken(headers);
    if (!token) return null;
    const e = this.byToken.get(token);
    if (!e) return null;
    let groups = e.groups;
    const sa = parseServiceAccountUsername(e.user);
    if (sa) {
      // a ServiceAccount's token always carries its groups, as the real ServiceAccount token authenticator gives them
      const saGroups = ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`];
      groups = [...saGroups.filter((g) => !groups.includes(g)), ...groups];
    }
    return { username: e.user, ...(e.uid ? { uid: e.uid } : {}), groups: withAuthenticated(groups) };
  }
}

/** Splits one CSV line (RFC 4180 quoting, as Go's encoding/csv with TrimLeadingSpace). */
function csvFields(line: string, lineNo: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (true) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    let field = '';
    if (line[i] === '"') {
      i++;
      while (true) {
        if (i >= line.length) throw new Error(`token file line ${lineNo}: unterminated quoted field`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') throw new Error(`token file line ${lineNo}: unexpected character after quoted field`);
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/**
 * Parses kube-apiserver's static token file: one `token,user,uid[,"group1,group2"]` per line. Blank lines and
 * lines starting with `#` are skipped. Throws naming the line for fewer than 3 columns or an empty token/user.
 */
export function parseTokenFile(csvText: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  const seen = new Set<string>();
  const lines = csvText.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    if (!raw.trim() || raw.trimStart().startsWith('#')) return;
    const f = csvFields(raw, lineNo);
    if (f.length < 3) {
      throw new Error(`token file line ${lineNo}: must have at least 3 columns (token, user name, user uid), found ${f.length}`);
    }
    const [token, user, uid, groupsCol] = f;
    if (!token) throw new Error(`token file line ${lineNo}: token (column 1) must not be empty`);
    if (!user) throw new Error(`token file line ${lineNo}: user name (column 2) must not be empty`);
    if (seen.has(token)) throw new Error(`token file line ${lineNo}: duplicate token (already defined on an earlier line)`);
    seen.add(token);
    const groups = (groupsCol ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    out.push({ token, user, ...(uid ? { uid } : {}), groups });
  });
  return out;
}

export class ImpersonationError extends Error {
  readonly code = 400;
  constructor(message: string) {
    super(message);
    this.name = 'ImpersonationError';
  }
}

function headerValues(headers: HeaderBag, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  // headersDistinct gives arrays of the exact values; plain headers join repeats with ", "
  const list = Array.isArray(v) ? v : v.split(', ');
  return list.map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * The identity requested by impersonation headers, or null when there are none. Throws ImpersonationError
 * (answer 400 BadRequest) for groups/uid/extra without Impersonate-User, as the real server does.
 * Extra keys are lowercased and percent-decoded (`Impersonate-Extra-Acme.com%2Fproject`).
 * The returned groups are exactly the requested ones; `impersonatedUser()` adds the implied groups.
 */
export function impersonation(headers: HeaderBag): { username: string; groups: string[]; uid?: string; extra: Record<string, string[]> } | null {
  const users = headerValues(headers, 'impersonate-user');
  const groups = headerValues(headers, 'impersonate-group');
  const uids = headerValues(headers, 'impersonate-uid');
  const extra: Record<string, string[]> = {};
  for (const key of Object.keys(headers)) {
    const lower = key.toLowerCase();
    if (!lower.startsWith('impersonate-extra-')) continue;
    let extraKey = lower.slice('impersonate-extra-'.length);
    try { extraKey = decodeURIComponent(extraKey); } catch {
      throw new ImpersonationError(`impersonation header ${key}: extra key is not valid percent-encoding`);
    }
    if (!extraKey) throw new ImpersonationError(`impersonation header ${key}: extra key must not be empty`);
    extra[extraKey] = [...(extra[extraKey] ?? []), ...headerValues(headers, key)];
  }
  const hasOthers = groups.length > 0 || uids.length > 0 || Object.keys(extra).length > 0;
  if (users.length === 0) {
    if (!hasOthers) return null;
    const what = [
      ...groups.map((g) => `Group ${g}`),
      ...uids.map((u) => `UID ${u}`),
      ...Object.keys(extra).map((k) => `UserExtra ${k}`),
    ].join(', ');
    throw new ImpersonationError(`requested [${what}] without impersonating a user`);
  }
  if (users.length > 1) throw new ImpersonationError('Impersonate-User: only one user may be impersonated');
  if (uids.length > 1) throw new ImpersonationError('Impersonate-Uid: only one uid may be impersonated');
  return { username: users[0], groups, ...(uids[0] ? { uid: uids[0] } : {}), extra };
}

/**
 * The UserInfo the request continues as. Like kube-apiserver: a ServiceAccount user without requested groups
 * gets the serviceaccount groups; every non-anonymous user gets `system:authenticated`, the anonymous user
 * `system:unauthenticated`.
 */
export function impersonatedUser(imp: { username: string; groups: string[]; uid?: string; extra: Record<string, string[]> }): UserInfo {
  let groups = [...imp.groups];
  const sa = parseServiceAccountUsername(imp.username);
  if (sa && groups.length === 0) groups = ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`];
  if (imp.username === USER_ANONYMOUS) {
    if (!groups.includes(GROUP_UNAUTHENTICATED)) groups.push(GROUP_UNAUTHENTICATED);
  } else if (!groups.includes(GROUP_AUTHENTICATED)) {
    groups.push(GROUP_AUTHENTICATED);
  }
  return {
    username: imp.username,
    ...(imp.uid ? { uid: imp.uid } : {}),
    groups,
    ...(Object.keys(imp.extra).length ? { extra: imp.extra } : {}),
  };
}

/**
 * The authorization checks kube-apiserver makes before impersonating (all must be allowed for `requester`):
 * `impersonate` on `users` (or `serviceaccounts` in the SA's namespace), on each `groups`, on
 * `uids` and `userextras/<key>` in API group authentication.k8s.io.
 */
export function impersonationChecks(requester: UserInfo, imp: { username: string; groups: string[]; uid?: string; extra: Record<string, string[]> }): RequestAttributes[] {
  const base = { user: requester, verb: 'impersonate', path: '', resourceRequest: true } as const;
  const out: RequestAttributes[] = [];
  const sa = parseServiceAccountUsername(imp.username);
  if (sa) out.push({ ...base, apiGroup: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name });
  else out.push({ ...base, apiGroup: '', resource: 'users', name: imp.username });
  for (const g of imp.groups) out.push({ ...base, apiGroup: '', resource: 'groups', name: g });
  if (imp.uid) out.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'uids', name: imp.uid });
  for (const [k, values] of Object.entries(imp.extra)) {
    for (const v of values) out.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: k, name: v });
  }
  return out;
}
