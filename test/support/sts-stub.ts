/**
 * A local stand-in for STS and the EKS DescribeCluster API across several AWS accounts, in their own wire
 * protocols, so the real AWS SDK v3 clients (fromTemporaryCredentials' STS client, EKSClient) and EKS's own token
 * check reach it with only their endpoint changed:
 *   STS (awsQuery, XML)       AssumeRole: the caller is the access key of the SigV4 Authorization header; allowed
 *                             when the role's trust names that caller's principal and the ExternalId matches;
 *                             answers temporary credentials (recorded, so their signatures can be checked)
 *   STS presigned GET         GetCallerIdentity as aws-iam-authenticator calls it with a token's URL: the
 *                             signature is verified (SigV4 query auth, recomputed here with the key's secret),
 *                             `x-k8s-aws-id` must be signed and equal the header the API server sends, the URL
 *                             at most 15 minutes old; answers the caller's ARN as JSON
 *   EKS (REST JSON)           DescribeCluster: allowed when the caller's account holds the cluster (and the
 *                             caller is in `describers`); the Authorization scope's region must be the cluster's
 * Every request is recorded in `calls` with the caller's access key and the signing region/service.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Principal {
  /** `arn:aws:iam::<acct>:role/<name>` or, for assumed roles, `arn:aws:sts::<acct>:assumed-role/<name>/<session>` */
  arn: string;
  account: string;
  secret: string;
  sessionToken?: string;
  /** The role an assumed-role session belongs to. */
  roleArn?: string;
}

export interface StubRole {
  arn: string;
  /** Principal ARNs (roles) its trust policy names. */
  trusted: string[];
  externalId?: string;
}

export interface StubCluster {
  name: string;
  account: string;
  region: string;
  endpoint: string;
  caData: string;
}

export interface StubCall {
  operation: 'AssumeRole' | 'GetCallerIdentity' | 'DescribeCluster';
  accessKey: string;
  region: string;
  service: string;
  status: number;
  detail?: Record<string, string>;
}

/** SigV4 query-string signature (AWS docs, "Authenticating Requests: Using Query Parameters"), for a GET. */
export function presignedSignature(url: URL, headers: Record<string, string>, signedHeaders: string[], secret: string): string {
  const q = [...url.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = q.map(([k, v]) => [enc(k), enc(v)]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(headers[h] ?? '').trim()}\n`).join('');
  const canonicalRequest = ['GET', url.pathname || '/', canonicalQuery, canonicalHeaders, signedHeaders.join(';'), createHash('sha256').update('').digest('hex')].join('\n');
  const date = url.searchParams.get('X-Amz-Date')!;
  const scope = url.searchParams.get('X-Amz-Credential')!.split('/').slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const [day, region, service] = scope.split('/');
  let k: Buffer = createHmac('sha256', `AWS4${secret}`).update(day!).digest();
  for (const part of [region!, service!, 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  return createHmac('sha256', k).update(toSign).digest('hex');
}

/** `Credential=AKID/20261204/eu-west-1/sts/aws4_request` of an Authorization header. */
function scopeOf(auth: string): { accessKey: string; region: string; service: string } {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  return m ? { accessKey: m[1]!, region: m[2]!, service: m[3]! } : { accessKey: '', region: '', service: '' };
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class StsStub {
  server!: Server;
  url = '';
  calls: StubCall[] = [];
  /** access key -> principal */
  keys = new Map<string, Principal>();
  roles = new Map<string, StubRole>();
  clusters = new Map<string, StubCluster>();
  private issued = 0;

  /** A long-lived identity (a function role's credentials). */
  addPrincipal(accessKey: string, p: Principal): void {
    this.keys.set(accessKey, p);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => this.route(req, body, res));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** What an EKS API server does with a bearer token: GetCallerIdentity through its URL. Null: unauthorized. */
  async identityOf(token: string, clusterName: string): Promise<string | null> {
    if (!token.startsWith('k8s-aws-v1.')) return null;
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.host)) return null;
    const { status, text } = await new Promise<{ status: number; text: string }>((done, fail) => {
      const r = request(`${this.url}/${url.search}`, { headers: { host: url.host, 'x-k8s-aws-id': clusterName, accept: 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => done({ status: res.statusCode ?? 0, text }));
      });
      r.on('error', fail);
      r.end();
    });
    if (status !== 200) return null;
    const body = JSON.parse(text) as { GetCallerIdentityResponse: { GetCallerIdentityResult: { Arn: string } } };
    return body.GetCallerIdentityResponse.GetCallerIdentityResult.Arn;
  }

  private route(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method === 'GET' && url.searchParams.get('Action') === 'GetCallerIdentity') return this.getCallerIdentity(req, url, res);
    if (req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(body);
      if (form.get('Action') === 'AssumeRole') return this.assumeRole(req, form, res);
    }
    const m = /^\/clusters\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) return this.describeCluster(req, decodeURIComponent(m[1]!), res);
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`stub: unhandled ${req.method} ${req.url}`);
  }

  private stsError(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'text/xml' }).end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>stub</RequestId></ErrorResponse>`);
  }

  private assumeRole(req: IncomingMessage, form: URLSearchParams, res: ServerResponse): void {
    const scope = scopeOf(String(req.headers.authorization ?? ''));
    const caller = this.keys.get(scope.accessKey);
    const roleArn = form.get('RoleArn') ?? '';
    const role = this.roles.get(roleArn);
    const detail = { roleArn, externalId: form.get('ExternalId') ?? '', sessionName: form.get('RoleSessionName') ?? '', duration: form.get('DurationSeconds') ?? '' };
    const callerRole = caller?.roleArn ?? caller?.arn ?? '';
    if (!caller || !role || !role.trusted.includes(callerRole) || (role.externalId !== undefined && role.externalId !== detail.externalId)) {
      this.calls.push({ operation: 'AssumeRole', ...scope, status: 403, detail });
      return this.stsError(res, 403, 'AccessDenied', `User: ${caller?.arn ?? 'unknown'} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
    }
    this.calls.push({ operation: 'AssumeRole', ...scope, status: 200, detail });
    const n = ++this.issued;
    const accessKey = `ASIASTUB${String(n).padStart(8, '0')}`;
    const account = roleArn.split(':')[4]!;
    const roleName = roleArn.split('/').pop()!;
    const principal: Principal = { arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${detail.sessionName}`, account, secret: `secret-${n}-${Math.random().toString(36).slice(2)}`, sessionToken: `token-${n}`, roleArn };
    this.keys.set(accessKey, principal);
    const expiration = new Date(Date.now() + Number(detail.duration || 3600) * 1000).toISOString();
    res.writeHead(200, { 'content-type': 'text/xml' }).end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${accessKey}</AccessKeyId><SecretAccessKey>${principal.secret}</SecretAccessKey><SessionToken>${principal.sessionToken}</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><Arn>${principal.arn}</Arn><AssumedRoleId>AROASTUB:${detail.sessionName}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  }

  private getCallerIdentity(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const cred = (url.searchParams.get('X-Amz-Credential') ?? '').split('/');
    const scope = { accessKey: cred[0] ?? '', region: cred[2] ?? '', service: cred[3] ?? '' };
    const fail = (why: string) => {
      this.calls.push({ operation: 'GetCallerIdentity', ...scope, status: 403, detail: { why } });
      this.stsError(res, 403, 'SignatureDoesNotMatch', why);
    };
    const p = this.keys.get(scope.accessKey);
    if (!p) return fail('unknown access key');
    const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
    if (!signed.includes('x-k8s-aws-id')) return fail('x-k8s-aws-id not signed');
    const host = String(req.headers.host ?? '');
    if (host !== (scope.region.startsWith('cn-') ? `sts.${scope.region}.amazonaws.com.cn` : `sts.${scope.region}.amazonaws.com`)) return fail(`host ${host} is not the STS endpoint of ${scope.region}`);
    if ((p.sessionToken ?? '') !== (url.searchParams.get('X-Amz-Security-Token') ?? '')) return fail('security token');
    const headers = { host, 'x-k8s-aws-id': String(req.headers['x-k8s-aws-id'] ?? '') };
    if (presignedSignature(url, headers, signed, p.secret) !== url.searchParams.get('X-Amz-Signature')) return fail('signature');
    const d = url.searchParams.get('X-Amz-Date') ?? '';
    const at = Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
    if (!(Date.now() - at < 15 * 60_000)) return fail('expired');
    this.calls.push({ operation: 'GetCallerIdentity', ...scope, status: 200, detail: { cluster: headers['x-k8s-aws-id'], arn: p.arn } });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ GetCallerIdentityResponse: { GetCallerIdentityResult: { Account: p.account, Arn: p.arn, UserId: 'stub' } } }));
  }

  private describeCluster(req: IncomingMessage, name: string, res: ServerResponse): void {
    const scope = scopeOf(String(req.headers.authorization ?? ''));
    const p = this.keys.get(scope.accessKey);
    const c = this.clusters.get(name);
    const error = (status: number, type: string, message: string) => {
      this.calls.push({ operation: 'DescribeCluster', ...scope, status, detail: { name } });
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message }));
    };
    if (!c || c.region !== scope.region) return error(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`);
    if (!p || p.account !== c.account) return error(403, 'AccessDeniedException', `User: ${p?.arn ?? 'unknown'} is not authorized to perform: eks:DescribeCluster on resource: ${name}`);
    this.calls.push({ operation: 'DescribeCluster', ...scope, status: 200, detail: { name } });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cluster: { name, status: 'ACTIVE', endpoint: c.endpoint, certificateAuthority: { data: c.caData } } }));
  }
}
