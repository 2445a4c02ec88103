/**
 * Reads serverless.yml the way the Serverless Framework does, for the local runner: variables
 * (`${self:}`, `${opt:}`, `${env:}`, `${sls:stage}`, `${param:}`, `${aws:region|accountId}`, `${file(path)}` and
 * `${file(path):key}` including JavaScript variable files whose exports are functions, fallbacks `${a, b, 'x'}`),
 * CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`, …) and then turns the resolved document into the local
 * wiring model (./app.ts). File access goes through `ServerlessIo` so tests can pass fixtures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDocument, type ScalarTag, type CollectionTag } from 'yaml';
import { ServerlessConfigError, toLocalApp, type LocalApp, type Res } from './app.ts';

export { ServerlessConfigError, toLocalApp } from './app.ts';
export type { LocalApp, LocalFunction, LocalLogSubscription, LocalQueue, LocalRule, LocalSchedule, LocalSqsEvent, RetryConfig, RuleTarget } from './app.ts';

export interface ServerlessIo {
  exists(path: string): boolean;
  readText(path: string): string;
  importModule(path: string): Promise<unknown>;
}

export const nodeIo: ServerlessIo = {
  exists: (p) => existsSync(p),
  readText: (p) => readFileSync(p, 'utf8'),
  importModule: async (p) => {
    const mod = (await import(pathToFileURL(p).href)) as { default?: unknown };
    return extname(p) === '.cjs' || extname(p) === '.js' ? (mod.default ?? mod) : mod;
  },
};

export interface LoadOptions {
  /** `--stage`, `--region` and other CLI options (`${opt:...}`). */
  options?: Record<string, string>;
  /** `--param key=value` pairs. */
  params?: Record<string, string>;
  env?: Record<string, string | undefined>;
  accountId?: string;
  io?: ServerlessIo;
}

// ---------- YAML with CloudFormation short tags ----------

function cfnTags(): Array<ScalarTag | CollectionTag> {
  const tags: Array<ScalarTag | CollectionTag> = [];
  const fns: Record<string, string> = {
    Ref: 'Ref', GetAtt: 'Fn::GetAtt', Sub: 'Fn::Sub', Join: 'Fn::Join', Select: 'Fn::Select', Split: 'Fn::Split',
    ImportValue: 'Fn::ImportValue', If: 'Fn::If', Equals: 'Fn::Equals', Not: 'Fn::Not', And: 'Fn::And', Or: 'Fn::Or',
    FindInMap: 'Fn::FindInMap', GetAZs: 'Fn::GetAZs', Base64: 'Fn::Base64', Condition: 'Condition',
  };
  for (const [short, long] of Object.entries(fns)) {
    const wrap = (value: unknown) => {
      if (short === 'GetAtt' && typeof value === 'string') {
        const dot = value.indexOf('.');
        return { [long]: dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
      }
      return { [long]: value };
    };
    tags.push({ tag: `!${short}`, identify: () => false, resolve: (str: string) => wrap(str) } as ScalarTag);
    tags.push({ tag: `!${short}`, collection: 'seq', identify: () => false, resolve: (seq: { toJSON(): unknown }) => wrap(seq.toJSON()) } as unknown as CollectionTag);
    tags.push({ tag: `!${short}`, collection: 'map', identify: () => false, resolve: (map: { toJSON(): unknown }) => wrap(map.toJSON()) } as unknown as CollectionTag);
  }
  return tags;
}

export function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { customTags: cfnTags(), prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length) throw new ServerlessConfigError(`${file}: ${doc.errors[0].message}`);
  return doc.toJS({ maxAliasCount: -1 });
}

// ---------- variables ----------

const VAR = /\$\{([^${}]*)\}/;
const CFN_SUB = /^(AWS::\w+|[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9.]+)?)$/;

function getPath(obj: unknown, path: string): unknown {
  if (path === '') return obj;
  let cur = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function splitTopLevel(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (const c of expr) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur.trim());
  return parts;
}

export class Resolver {
  readonly file: string;
  readonly dir: string;
  private raw: Record<string, unknown>;
  private opts: Required<Omit<LoadOptions, 'io'>> & { io: ServerlessIo };
  private fileCache = new Map<string, unknown>();
  private missingFiles = new Set<string>();

  constructor(file: string, raw: Record<string, unknown>, opts: LoadOptions) {
    this.file = file;
    this.dir = dirname(file);
    this.raw = raw;
    this.opts = { options: opts.options ?? {}, params: opts.params ?? {}, env: opts.env ?? process.env, accountId: opts.accountId ?? '000000000000', io: opts.io ?? nodeIo };
  }

  /** Resolve every variable in `value` (found at `where`, for error messages). */
  async resolve(value: unknown, where: string, depth = 0): Promise<unknown> {
    if (depth > 50) throw new ServerlessConfigError(`${this.file}: ${where}: variables nest too deeply (a cycle?)`);
    if (typeof value === 'string') return this.resolveString(value, where, depth);
    if (Array.isArray(value)) {
      const out = [];
      for (let i = 0; i < value.length; i++) out.push(await this.resolve(value[i], `${where}[${i}]`, depth));
      return out;
    }
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await this.resolve(v, where ? `${where}.${k}` : k, depth);
      return out;
    }
    return value;
  }

  private async resolveString(str: string, where: string, depth: number): Promise<unknown> {
    let s = str;
    let from = 0;
    for (;;) {
      const m = VAR.exec(s.slice(from));
      if (!m) return s;
      const at = from + m.index;
      // CloudFormation's own ${AWS::Region} and ${LogicalId.Attr} (inside Fn::Sub) are left for CloudFormation
      if (CFN_SUB.test(m[1].trim())) {
        from = at + m[0].length;
        continue;
      }
      const value = await this.resolveExpression(m[1], where, depth);
      if (m[0] === s) return value;
      if (value !== null && typeof value === 'object') {
        throw new ServerlessConfigError(`${this.file}: ${where}: \${${m[1]}} resolves to an object and cannot be embedded in the string "${str}"`);
      }
      s = s.slice(0, at) + String(value ?? '') + s.slice(at + m[0].length);
    }
  }

  /** `source:address, fallback, ...` */
  async resolveExpression(expr: string, where: string, depth = 0): Promise<unknown> {
    const alternatives = splitTopLevel(expr);
    for (const alt of alternatives) {
      // `${x, null}`: the framework's explicit "no value" (the property is left unset), e.g. provider.vpc.
      if (alt === 'null') return null;
      const v = await this.resolveSource(alt, where, depth);
      if (v !== undefined && v !== null) return v;
    }
    const missing = alternatives.map((a) => /^file\((.+?)\)/.exec(a)?.[1].trim()).filter((f): f is string => !!f && this.missingFiles.has(f));
    const why = missing.length ? `: ${missing.join(', ')} does not exist` : alternatives.length > 1 ? ': no alternative has a value' : ': no value';
    throw new ServerlessConfigError(`${this.file}: ${where}: cannot resolve \${${expr}}${why}`);
  }

  private async resolveSource(alt: string, where: string, depth: number): Promise<unknown> {
    if (/^'.*'$/s.test(alt) || /^".*"$/s.test(alt)) return alt.slice(1, -1);
    if (/^-?\d+(\.\d+)?$/.test(alt)) return Number(alt);
    if (alt === 'true' || alt === 'false') return alt === 'true';
    const file = /^file\((.+?)\)(?::(.*))?$/.exec(alt);
    if (file) return this.fromFile(file[1].trim(), file[2]?.trim() ?? '', where, depth);
    const colon = alt.indexOf(':');
    if (colon < 0) throw new ServerlessConfigError(`${this.file}: ${where}: unsupported variable \${${alt}}`);
    const source = alt.slice(0, colon);
    const address = alt.slice(colon + 1);
    switch (source) {
      case 'self': {
        const v = getPath(this.raw, address);
        return v === undefined ? undefined : this.resolve(v, address, depth + 1);
      }
      case 'opt':
        return this.opts.options[address];
      case 'env':
        return this.opts.env[address];
      case 'sls':
        if (address === 'stage') return this.stage(depth);
        if (address === 'instanceId') return 'local';
        throw new ServerlessConfigError(`${this.file}: ${where}: unsupported variable \${sls:${address}}`);
      case 'param':
        return this.param(address, where, depth);
      case 'aws':
        if (address === 'region') return this.region(depth);
        if (address === 'accountId') return this.opts.accountId;
        throw new ServerlessConfigError(`${this.file}: ${where}: unsupported variable \${aws:${address}}`);
      default:
        throw new ServerlessConfigError(`${this.file}: ${where}: unsupported variable source "${source}" in \${${alt}} (the local runner knows self, opt, env, sls, param, aws, file)`);
    }
  }

  async stage(depth = 0): Promise<string> {
    if (this.opts.options.stage) return this.opts.options.stage;
    const s = getPath(this.raw, 'provider.stage');
    return s === undefined ? 'dev' : String(await this.resolve(s, 'provider.stage', depth + 1));
  }

  async region(depth = 0): Promise<string> {
    if (this.opts.options.region) return this.opts.options.region;
    const r = getPath(this.raw, 'provider.region');
    return r === undefined ? 'us-east-1' : String(await this.resolve(r, 'provider.region', depth + 1));
  }

  private async param(name: string, where: string, depth: number): Promise<unknown> {
    if (name in this.opts.params) return this.opts.params[name];
    const stage = await this.stage(depth);
    const params = (this.raw.params ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const v = params[stage]?.[name] ?? params.default?.[name];
    return v === undefined ? undefined : this.resolve(v, `params.${name}`, depth + 1);
  }

  private async fromFile(path: string, address: string, where: string, depth: number): Promise<unknown> {
    const full = isAbsolute(path) ? path : resolve(this.dir, path);
    if (!this.opts.io.exists(full)) {
      this.missingFiles.add(path);
      return undefined;
    }
    let content = this.fileCache.get(full);
    if (content === undefined) {
      const ext = extname(full);
      if (ext === '.json') {
        try {
          content = JSON.parse(this.opts.io.readText(full));
        } catch (err) {
          throw new ServerlessConfigError(`${full}: not valid JSON (${(err as Error).message}), referenced at ${this.file}: ${where}`);
        }
      } else if (ext === '.yml' || ext === '.yaml') {
        content = parseYaml(this.opts.io.readText(full), full);
      } else if (ext === '.js' || ext === '.cjs' || ext === '.mjs') {
        content = await this.opts.io.importModule(full);
      } else {
        content = this.opts.io.readText(full);
      }
      this.fileCache.set(full, content);
    }
    let value = getPath(content, address);
    if (typeof value === 'function') {
      const resolveVariable = (e: string) => this.resolveExpression(e.replace(/^\$\{|\}$/g, ''), `${where} (${path})`, depth + 1);
      value = await (value as (ctx: object) => unknown)({
        options: { stage: await this.stage(depth), region: await this.region(depth), ...this.opts.options },
        resolveVariable,
        resolveConfigurationProperty: async (p: string[]) => this.resolve(getPath(this.raw, p.join('.')), p.join('.'), depth + 1),
      });
    }
    return value === undefined ? undefined : this.resolve(value, `${where} (${path})`, depth + 1);
  }
}

export { rateMs } from './schedule.ts';

/** Load, resolve and translate serverless.yml. Resource blocks that cannot be resolved are skipped with a note. */
export async function loadServerless(file: string, opts: LoadOptions = {}): Promise<LocalApp> {
  const io = opts.io ?? nodeIo;
  const full = resolve(file);
  if (!io.exists(full)) throw new ServerlessConfigError(`${full}: not found`);
  const raw = parseYaml(io.readText(full), full);
  if (!raw || typeof raw !== 'object') throw new ServerlessConfigError(`${full}: not a YAML mapping`);
  const r = new Resolver(full, raw as Record<string, unknown>, { ...opts, io });
  const cfg = raw as Record<string, any>;
  const resolved: Record<string, any> = {
    service: await r.resolve(cfg.service, 'service'),
    provider: await r.resolve(cfg.provider ?? {}, 'provider'),
    functions: await r.resolve(cfg.functions ?? {}, 'functions'),
  };
  const notes: string[] = [];
  const resources: Res = {};
  const blocks = Array.isArray(cfg.resources) ? cfg.resources : cfg.resources ? [cfg.resources] : [];
  for (let i = 0; i < blocks.length; i++) {
    let block: any;
    try {
      block = await r.resolve(blocks[i], `resources[${i}]`);
    } catch (err) {
      notes.push(`resources[${i}] skipped: ${(err as Error).message}`);
      continue;
    }
    Object.assign(resources, block?.Resources ?? {});
  }
  const stage = await r.stage();
  const region = await r.region();
  const params: Record<string, unknown> = {};
  const rawParams = (cfg.params ?? {}) as Record<string, Record<string, unknown>>;
  for (const key of new Set([...Object.keys(rawParams.default ?? {}), ...Object.keys(rawParams[stage] ?? {}), ...Object.keys(opts.params ?? {})])) {
    try {
      params[key] = await r.resolveExpression(`param:${key}`, `params.${key}`);
    } catch {
      // a param without a value is only an error where it is used
    }
  }
  const app = toLocalApp(resolved, resources, { stage, region, accountId: opts.accountId ?? '000000000000', params });
  app.notes.unshift(...notes);
  return app;
}

/** Where a handler module lives: `functions/clone/handler` -> the first existing .ts/.mjs/.js file, or null. */
export function handlerFile(serviceDir: string, modulePath: string, exists: (p: string) => boolean = existsSync): string | null {
  for (const ext of ['.ts', '.mts', '.mjs', '.js', '.cjs']) {
    const p = join(serviceDir, modulePath + ext);
    if (exists(p)) return p;
  }
  return null;
}
