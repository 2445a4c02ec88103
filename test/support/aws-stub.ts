/**
 * A local stand-in for the AWS APIs `ripple doctor` reads, spoken in each service's own wire protocol so the
 * real AWS SDK v3 clients talk to it with only their endpoint changed:
 *   CloudFormation (awsQuery, XML):  DescribeStacks, ListStackResources (pages of 2)
 *   EventBridge (JSON 1.1):          DescribeEventBus, DescribeRule, ListTargetsByRule
 *   EKS (REST JSON):                 DescribeAccessEntry, ListAssociatedAccessPolicies,
 *                                    ListPodIdentityAssociations, DescribePodIdentityAssociation
 *   CloudWatch (JSON 1.0):           GetMetricData
 *   CloudWatch Logs (JSON 1.1):      DescribeSubscriptionFilters
 * The answers come from `account`, a plain model of one AWS account that a test changes between runs. Errors
 * are the services' own (ValidationError "Stack ... does not exist", ResourceNotFoundException). Signatures are
 * not checked; every request is recorded (`calls`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubStack {
  status: string;
  outputs: Record<string, string>;
  resources: { logicalId: string; physicalId: string; type: string }[];
}

export interface FakeAccount {
  region: string;
  accountId: string;
  stacks: Record<string, StubStack>;
  buses: string[];
  /** `<bus>/<rule>` */
  rules: Record<string, { state: string; targets: { Id: string; Arn: string; DeadLetterConfig?: { Arn: string } }[] }>;
  /** `<cluster>|<principalArn>` */
  accessEntries: Record<string, { kubernetesGroups: string[]; type: string; policies: string[] }>;
  /** per cluster */
  associations: Record<string, { associationId: string; associationArn: string; namespace: string; serviceAccount: string; roleArn: string; createdAt: Date }[]>;
  /** `<MetricName>|<dimension values joined by ,>` -> datapoints (newest first is not required) */
  metrics: Record<string, { t: Date; v: number }[]>;
  /** per log group; an absent group does not exist */
  subscriptionFilters: Record<string, { filterName: string; destinationArn: string }[]>;
}

export interface Call {
  service: string;
  operation: string;
  /** The region the request was signed for (EKS, CloudWatch Logs: a cluster in another region is read there). */
  region?: string;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class AwsStub {
  server!: Server;
  url = '';
  calls: Call[] = [];
  account: FakeAccount;
  constructor(account: FakeAccount) {
    this.account = account;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        try {
          this.route(req, body, res);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ __type: 'InternalFailure', message: (err as Error).message }));
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private route(req: IncomingMessage, body: string, res: ServerResponse): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('application/x-www-form-urlencoded')) return this.cloudformation(new URLSearchParams(body), res);
    if (target.startsWith('AWSEvents.')) return this.json('eventbridge', target.slice('AWSEvents.'.length), JSON.parse(body || '{}'), res, this.eventbridge);
    if (target.startsWith('GraniteServiceVersion20100801.')) return this.json('cloudwatch', target.split('.')[1]!, JSON.parse(body || '{}'), res, this.cloudwatch);
    if (target.startsWith('Logs_20140328.')) return this.json('logs', target.split('.')[1]!, JSON.parse(body || '{}'), res, this.logs, signedRegion(req));
    if ((req.url ?? '').startsWith('/clusters/')) return this.eks(req, res);
    res.writeHead(400).end(`stub: unknown request ${req.method} ${req.url} ${target}`);
  }

  // ---- CloudFormation (awsQuery) ----
  private cloudformation(p: URLSearchParams, res: ServerResponse): void {
    const action = p.get('Action') ?? '';
    this.calls.push({ service: 'cloudformation', operation: action });
    const name = p.get('StackName') ?? '';
    const stack = this.account.stacks[name];
    const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    if (!stack) {
      res.writeHead(400, { 'content-type': 'text/xml' }).end(`<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xmlEscape(name)} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
      return;
    }
    const stackId = `arn:aws:cloudformation:${this.account.region}:${this.account.accountId}:stack/${name}/0f0e`;
    let result: string;
    if (action === 'DescribeStacks') {
      const outputs = Object.entries(stack.outputs)
        .map(([k, v]) => `<member><OutputKey>${xmlEscape(k)}</OutputKey><OutputValue>${xmlEscape(v)}</OutputValue></member>`)
        .join('');
      result = `<Stacks><member><StackName>${name}</StackName><StackId>${stackId}</StackId><StackStatus>${stack.status}</StackStatus><CreationTime>2026-12-01T10:00:00.000Z</CreationTime><LastUpdatedTime>2026-12-03T10:00:00.000Z</LastUpdatedTime><Outputs>${outputs}</Outputs></member></Stacks>`;
    } else if (action === 'ListStackResources') {
      // pages of 2, as a long stack comes in pages of 100
      const from = Number(p.get('NextToken') ?? 0);
      const page = stack.resources.slice(from, from + 2);
      const next = from + 2 < stack.resources.length ? `<NextToken>${from + 2}</NextToken>` : '';
      result = `<StackResourceSummaries>${page
        .map((r) => `<member><LogicalResourceId>${r.logicalId}</LogicalResourceId><PhysicalResourceId>${xmlEscape(r.physicalId)}</PhysicalResourceId><ResourceType>${r.type}</ResourceType><LastUpdatedTimestamp>2026-12-03T10:00:00.000Z</LastUpdatedTimestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>`)
        .join('')}</StackResourceSummaries>${next}`;
    } else {
      res.writeHead(400, { 'content-type': 'text/xml' }).end(`<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action}</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/xml' }).end(`<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`);
  }

  // ---- JSON protocols ----
  private json(service: string, operation: string, input: any, res: ServerResponse, handler: (op: string, input: any) => unknown, region?: string): void {
    this.calls.push({ service, operation, ...(region ? { region } : {}) });
    const contentType = service === 'cloudwatch' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
    try {
      const out = handler.call(this, operation, input);
      res.writeHead(200, { 'content-type': contentType }).end(JSON.stringify(out));
    } catch (err) {
      const e = err as { code?: string; message: string };
      res.writeHead(400, { 'content-type': contentType }).end(JSON.stringify({ __type: e.code ?? 'ValidationException', message: e.message }));
    }
  }

  private eventbridge(op: string, input: any): unknown {
    const bus = input.EventBusName ?? input.Name;
    if (op === 'DescribeEventBus') {
      if (!this.account.buses.includes(input.Name)) throw notFound(`Event bus ${input.Name} does not exist.`);
      return { Name: input.Name, Arn: `arn:aws:events:${this.account.region}:${this.account.accountId}:event-bus/${input.Name}` };
    }
    const rule = this.account.rules[`${bus}/${input.Name ?? input.Rule}`];
    if (!rule) throw notFound(`Rule ${input.Name ?? input.Rule} does not exist on EventBus ${bus}.`);
    if (op === 'DescribeRule') return { Name: input.Name, EventBusName: bus, State: rule.state };
    if (op === 'ListTargetsByRule') return { Targets: rule.targets };
    throw Object.assign(new Error(op), { code: 'UnknownOperationException' });
  }

  private cloudwatch(op: string, input: any): unknown {
    if (op !== 'GetMetricData') throw Object.assign(new Error(op), { code: 'UnknownOperationException' });
    const start = Number(input.StartTime) * 1000;
    const end = Number(input.EndTime) * 1000;
    return {
      MetricDataResults: (input.MetricDataQueries as any[]).map((q) => {
        const m = q.MetricStat.Metric;
        const key = `${m.MetricName}|${(m.Dimensions as { Value: string }[]).map((d) => d.Value).join(',')}`;
        const points = (this.account.metrics[key] ?? []).filter((p) => p.t.getTime() >= start && p.t.getTime() <= end).sort((a, b) => b.t.getTime() - a.t.getTime());
        return { Id: q.Id, Label: m.MetricName, StatusCode: 'Complete', Timestamps: points.map((p) => p.t.getTime() / 1000), Values: points.map((p) => p.v) };
      }),
    };
  }

  private logs(op: string, input: any): unknown {
    if (op !== 'DescribeSubscriptionFilters') throw Object.assign(new Error(op), { code: 'UnknownOperationException' });
    const filters = this.account.subscriptionFilters[input.logGroupName];
    if (!filters) throw notFound('The specified log group does not exist.');
    return { subscriptionFilters: filters.map((f) => ({ ...f, logGroupName: input.logGroupName, filterPattern: '{ $.verb = "update" }', creationTime: 1764755000000 })) };
  }

  // ---- EKS (REST JSON) ----
  private eks(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://stub');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent); // clusters, <c>, ...
    const cluster = parts[1]!;
    const send = (status: number, body: unknown, errorType?: string) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) }).end(JSON.stringify(body));
    };
    const missing = (message: string) => send(404, { message }, 'ResourceNotFoundException');
    const region = signedRegion(req);
    const push = this.calls.push.bind(this.calls);
    const calls = { push: (c: Call) => push({ ...c, ...(region ? { region } : {}) }) };
    if (parts[2] === 'access-entries') {
      const principalArn = parts[3]!;
      const entry = this.account.accessEntries[`${cluster}|${principalArn}`];
      calls.push({ service: 'eks', operation: parts[4] === 'access-policies' ? 'ListAssociatedAccessPolicies' : 'DescribeAccessEntry' });
      if (!entry) return missing(`The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.`);
      if (parts[4] === 'access-policies') return send(200, { clusterName: cluster, principalArn, associatedAccessPolicies: entry.policies.map((policyArn) => ({ policyArn, accessScope: { type: 'cluster' }, associatedAt: 1764755000 })) });
      return send(200, { accessEntry: { clusterName: cluster, principalArn, kubernetesGroups: entry.kubernetesGroups, type: entry.type, createdAt: 1764755000, username: principalArn } });
    }
    if (parts[2] === 'pod-identity-associations') {
      const list = this.account.associations[cluster] ?? [];
      if (parts[3]) {
        calls.push({ service: 'eks', operation: 'DescribePodIdentityAssociation' });
        const a = list.find((x) => x.associationId === parts[3]);
        if (!a) return missing(`Pod Identity association ${parts[3]} not found`);
        return send(200, { association: { clusterName: cluster, ...a, createdAt: a.createdAt.getTime() / 1000, modifiedAt: a.createdAt.getTime() / 1000 } });
      }
      calls.push({ service: 'eks', operation: 'ListPodIdentityAssociations' });
      const ns = url.searchParams.get('namespace');
      const sa = url.searchParams.get('serviceAccount');
      return send(200, { associations: list.filter((a) => (!ns || a.namespace === ns) && (!sa || a.serviceAccount === sa)).map(({ associationId, associationArn, namespace, serviceAccount }) => ({ clusterName: cluster, associationId, associationArn, namespace, serviceAccount })) });
    }
    res.writeHead(400).end(`stub: unknown EKS path ${url.pathname}`);
  }
}

function notFound(message: string): Error {
  return Object.assign(new Error(message), { code: 'ResourceNotFoundException' });
}

/** The region a SigV4 request was signed for (its credential scope). */
function signedRegion(req: IncomingMessage): string | undefined {
  return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
}
