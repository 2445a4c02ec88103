'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The EKS clusters one ripple stage serves, for serverless.yml.
 *
 *   --param="cluster=prod"                 one cluster (the default for events that carry none)
 *   --param="clusters=prod,prod-eu-2"      several clusters in the stack's account and region (the first is the
 *                                          default unless `cluster` names another one)
 *   --param='clusters={"prod":{"endpoint":"https://…","caData":"LS0t…"}}'
 *                                          endpoint + CA given: the handlers make no eks:DescribeCluster call
 *   --param='clusters=[{"name":"prod"},{"name":"us","region":"us-east-1"},
 *                      {"name":"edge","region":"eu-west-1","accountId":"210987654321","externalId":"ripple-prod"}]'
 *                                          clusters in other regions and other accounts (a list of objects, or
 *                                          the same fields in the object form keyed by name)
 *
 * Fields of a cluster: `name`, `region` (default: the stack's), `accountId` (only for a cluster in another account
 * than the stack's), `endpoint` + `caData`, and for another account `externalId` (the spoke stack's ExternalId),
 * `roleArn` (one role for all three functions) or `roleArns` ({clone, protect, rollout}; default
 * `arn:aws:iam::<accountId>:role/ripple-<stage>-<cluster>-<handler>`, the names infra/aws/spoke.yml creates) and
 * `forwarderRoleArn` (default `…:role/ripple-<stage>-<cluster>-forwarder`, the bus policy's principal).
 *
 * Three kinds of cluster (docs/fleet.md, "Other regions and accounts"):
 *   local    the stack's account and region: everything is in this stack (access entries for the function
 *            roles, the forwarder's Pod Identity association, protect's audit-log subscription).
 *   region   the stack's account, another region: the function roles reach it directly (eks:DescribeCluster on
 *            its ARN in that region); its access entries for them and its forwarder's role and association are
 *            in a spoke stack deployed in that region (infra/aws/spoke.yml: CloudFormation is regional).
 *   account  another account: each function assumes its own role there (sts:AssumeRole on exactly those ARNs),
 *            which holds the cluster's access entry and eks:DescribeCluster on it (spoke.yml creates them, trusting
 *            only this stage's function roles, with the ExternalId); its forwarder puts events on this bus, which
 *            a bus policy allows for that account's forwarder role only.
 * The primary cluster (`cluster`) must be local: its audit log is subscribed in serverless.yml.
 *
 * `cluster` is required for every stage but `dev` (LOCAL_STAGES: `npm start`, `npm run package`), which falls
 * back to a cluster named `ripple`: a deploy never targets a cluster nobody named.
 *
 * Exports (each a function the framework calls with its variable resolver):
 *   names         ['prod', ...] every cluster, primary first
 *   localNames    the local ones (the forwarder role's trust: Pod Identity on these clusters)
 *   envClone, envRollout, envProtect   RIPPLE_CLUSTERS for that function: JSON `{ "<cluster>": { "region" } }`,
 *                 plus `endpoint`/`caData` where given and, for another account, that function's `roleArn` and the
 *                 `externalId`
 *   env           the same without role ARNs (kept for configurations that set it on the provider)
 *   summary       the stack output StageClusters (`hub=eu-west-1,us=us-east-1,edge=eu-central-1/210987654321`), which
 *                 `ripple doctor` reads to check every cluster of the stage
 *   describeArns  the IAM resources of eks:DescribeCluster: exactly the clusters of the stack's account
 *   cloneAccessEntryIds  logical ids the deploy-time reconcile (Custom::RippleReconcile) depends on: the clone
 *                 role's access entries and, with clusters in other accounts, its assume-role policy
 *   forwarderAssociations  `{ "<cluster>": GetAtt ForwarderPodIdentity<X>.AssociationArn }` (local clusters): a
 *                 property of the deploy-time reconcile, so it runs after every association exists and again
 *                 whenever one is created or replaced; the clone handler then restarts that cluster's forwarder
 *   forwarderNamespace, forwarderServiceAccount  for the ForwarderRole trust policy (session tags)
 *   resources     per local cluster: one AWS::EKS::AccessEntry per handler role (its Kubernetes group from
 *                 core/constants.ts HANDLER_GROUPS), the forwarder's AWS::EKS::PodIdentityAssociation, and for
 *                 every one but the primary the protect function's subscription to /aws/eks/<cluster>/cluster (the
 *                 primary's is the `cloudwatchLog` event in serverless.yml); with clusters in other accounts, one
 *                 AWS::IAM::Policy per function role allowing sts:AssumeRole on its roles there, and one
 *                 AWS::Events::EventBusPolicy per account allowing PutEvents from its forwarder roles.
 *
 * CommonJS on purpose: the framework `require()`s variable files. The pure parts are exported for tests.
 */
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');

const CONSTANTS = resolve(__dirname, '..', '..', 'core', 'constants.ts');

/** HANDLER_GROUPS, RIPPLE_NAMESPACE and FORWARDER_SERVICE_ACCOUNT read from the one TypeScript source. */
function readConstants(file = CONSTANTS) {
  const text = readFileSync(file, 'utf8');
  const block = /export const HANDLER_GROUPS = \{([^}]*)\}/.exec(text);
  if (!block) throw new Error(`${file}: HANDLER_GROUPS not found`);
  const groups = {};
  for (const m of block[1].matchAll(/(\w+):\s*'([^']+)'/g)) groups[m[1]] = m[2];
  const str = (name) => {
    const m = new RegExp(`export const ${name} = '([^']+)'`).exec(text);
    if (!m) throw new Error(`${file}: ${name} not found`);
    return m[1];
  };
  return { groups, namespace: str('RIPPLE_NAMESPACE'), serviceAccount: str('FORWARDER_SERVICE_ACCOUNT'), eventSource: str('EVENT_SOURCE') };
}

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
/** sts:ExternalId: 2-1224 characters of [\w+=,.@:/-]. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const FIELDS = ['name', 'endpoint', 'caData', 'region', 'accountId', 'roleArn', 'roleArns', 'externalId', 'forwarderRoleArn'];

/** Stages that may leave `cluster` unset (they fall back to `ripple`, the local runner's name). */
const LOCAL_STAGES = ['dev'];

const HANDLER_ROLES = { clone: 'CloneRole', rollout: 'RolloutRole', protect: 'ProtectRole' };

/** One cluster's fields, checked; `where` names it in errors. */
function checkEntry(name, entry, where) {
  const e = entry && typeof entry === 'object' && !Array.isArray(entry) ? { ...entry } : {};
  delete e.name;
  for (const k of Object.keys(e)) {
    if (!FIELDS.includes(k)) throw new Error(`param "clusters": ${where}.${k}: unknown field (${FIELDS.filter((f) => f !== 'name').join(', ')})`);
  }
  if (Boolean(e.endpoint) !== Boolean(e.caData)) throw new Error(`param "clusters": ${where}: give both endpoint and caData (the cluster's API URL and base64 CA, \`aws eks describe-cluster\`), or neither`);
  if (e.endpoint && !/^https:\/\//.test(String(e.endpoint))) throw new Error(`param "clusters": ${where}.endpoint: must be an https:// URL`);
  if (e.region !== undefined && !REGION.test(String(e.region))) throw new Error(`param "clusters": ${where}.region: "${e.region}" is not an AWS region (e.g. eu-west-1)`);
  if (e.accountId !== undefined) {
    e.accountId = String(e.accountId);
    if (!ACCOUNT.test(e.accountId)) throw new Error(`param "clusters": ${where}.accountId: "${e.accountId}" is not an AWS account id (12 digits; quote it in YAML)`);
  }
  const crossAccountOnly = ['roleArn', 'roleArns', 'externalId', 'forwarderRoleArn'].filter((k) => e[k] !== undefined);
  if (crossAccountOnly.length && !e.accountId) {
    throw new Error(`param "clusters": ${where}.${crossAccountOnly[0]}: only for a cluster in another account; give its accountId (a cluster of the stack's account is reached with the function roles themselves)`);
  }
  if (e.roleArn !== undefined && e.roleArns !== undefined) throw new Error(`param "clusters": ${where}: give roleArn (one role for the three functions) or roleArns ({clone, protect, rollout}), not both`);
  const arns = e.roleArns !== undefined ? e.roleArns : e.roleArn !== undefined ? { arn: e.roleArn } : {};
  if (e.roleArns !== undefined) {
    if (!arns || typeof arns !== 'object' || Array.isArray(arns)) throw new Error(`param "clusters": ${where}.roleArns: an object {clone, protect, rollout} of role ARNs`);
    for (const h of Object.keys(HANDLER_ROLES)) if (!arns[h]) throw new Error(`param "clusters": ${where}.roleArns.${h}: missing (give the three, or use roleArn for one role)`);
    for (const k of Object.keys(arns)) if (!HANDLER_ROLES[k]) throw new Error(`param "clusters": ${where}.roleArns.${k}: unknown function (clone, protect, rollout)`);
  }
  const checked = Object.entries(arns).map(([k, arn]) => [e.roleArns !== undefined ? `roleArns.${k}` : 'roleArn', arn]);
  if (e.forwarderRoleArn !== undefined) checked.push(['forwarderRoleArn', e.forwarderRoleArn]);
  for (const [field, arn] of checked) {
    const m = ROLE_ARN.exec(String(arn));
    if (!m) throw new Error(`param "clusters": ${where}.${field}: "${arn}" is not an IAM role ARN`);
    if (m[1] !== e.accountId) throw new Error(`param "clusters": ${where}.${field}: the role is in account ${m[1]}, the cluster in ${e.accountId}`);
  }
  if (e.externalId !== undefined && !EXTERNAL_ID.test(String(e.externalId))) {
    throw new Error(`param "clusters": ${where}.externalId: 2 to 1224 characters of letters, digits and _+=,.@:/-`);
  }
  return e;
}

/**
 * The `clusters` param as an ordered object `{ name: fields }`: a comma/space separated list (empty entries),
 * a JSON object keyed by name, a JSON list of names or `{name, ...}` objects, or the same as a YAML value
 * (params in serverless.yml).
 */
function clusterEntries(clusters) {
  let value = clusters;
  if (typeof value === 'string' || value === undefined || value === null) {
    const raw = String(value ?? '').trim();
    if (!raw.startsWith('{') && !raw.startsWith('[')) {
      return Object.fromEntries(raw.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean).map((n) => [n, {}]));
    }
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`param "clusters": not valid JSON (${err.message}); give a comma separated list of cluster names, a list of {"name", "region"?, "accountId"?, …} objects or a RIPPLE_CLUSTERS object`, { cause: err });
    }
  }
  const out = {};
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const name = typeof item === 'string' ? item : item && typeof item === 'object' ? item.name : undefined;
      if (typeof name !== 'string' || !name) throw new Error(`param "clusters": [${i}]: give the cluster's name (a string, or an object with "name")`);
      if (out[name]) throw new Error(`param "clusters": [${i}]: cluster "${name}" is listed twice`);
      out[name] = checkEntry(name, typeof item === 'string' ? {} : item, `[${i}] (${name})`);
    });
    return out;
  }
  if (!value || typeof value !== 'object') throw new Error('param "clusters": a JSON value must be a list [{"name", …}] or an object {"<cluster>": {"endpoint"?, "caData"?, "region"?, "accountId"?, …}}');
  for (const [name, entry] of Object.entries(value)) out[name] = checkEntry(name, entry, name);
  return out;
}

/**
 * `cluster` + optional `clusters` -> ordered unique names, primary first. `stage` (optional) names the stage in
 * the error when no cluster is given.
 */
function parseClusters(cluster, clusters, stage) {
  const list = Object.keys(clusterEntries(clusters));
  const primary = cluster ? String(cluster).trim() : list[0];
  if (!primary) {
    const forStage = stage ? ` for stage "${stage}"` : '';
    throw new Error(`param "cluster" is required${forStage}: deploy with --param="cluster=<EKS cluster name>" (or set RIPPLE_CLUSTER_NAME, or params.${stage || '<stage>'}.cluster in serverless.yml)`);
  }
  const names = [primary, ...list.filter((n) => n !== primary)];
  for (const n of names) {
    if (!CLUSTER_NAME.test(n)) {
      throw new Error(`param "clusters": "${n}" is not an EKS cluster name (letters, digits, - and _, at most 100, starting with a letter or digit)`);
    }
  }
  return [...new Set(names)];
}

/** The spoke roles' default names (infra/aws/spoke.yml): `ripple-<stage>-<cluster>-<role>`, at most 64 characters. */
function spokeRoleName(stage, cluster, role) {
  return `ripple-${stage}-${cluster}-${role}`;
}

/**
 * The stage's clusters, resolved: `[{ name, kind: 'local'|'region'|'account', region, accountId?, endpoint?,
 * caData?, roleArns?, externalId? }]`, primary first. `region` is the stack's when the cluster names none.
 */
function stageClusters({ cluster, clusters, stage, region }) {
  const names = parseClusters(cluster, clusters, stage);
  const entries = clusterEntries(clusters);
  return names.map((name, i) => {
    const e = entries[name] ?? {};
    const own = e.region ?? region;
    const kind = e.accountId ? 'account' : own !== region ? 'region' : 'local';
    const c = { name, kind, region: own, stage: stage ?? 'dev' };
    if (e.endpoint) Object.assign(c, { endpoint: e.endpoint, caData: e.caData });
    if (kind === 'account') {
      c.accountId = e.accountId;
      const roleArns = {};
      for (const h of Object.keys(HANDLER_ROLES)) {
        const given = e.roleArns?.[h] ?? e.roleArn;
        if (given) roleArns[h] = given;
        else {
          const roleName = spokeRoleName(stage ?? 'dev', name, h);
          if (spokeRoleName(stage ?? 'dev', name, 'forwarder').length > 64) {
            throw new Error(`param "clusters": ${name}: the spoke's default role names (${spokeRoleName(stage ?? 'dev', name, 'forwarder')}) are longer than IAM's 64 characters; deploy its spoke stack with a shorter RoleNamePrefix and give roleArns`);
          }
          roleArns[h] = `arn:${partitionOf(own)}:iam::${e.accountId}:role/${roleName}`;
        }
      }
      c.roleArns = roleArns;
      if (!e.externalId) {
        throw new Error(`param "clusters": ${name}.externalId: required for a cluster in another account (the ExternalId its spoke stack's roles demand, infra/aws/spoke.yml; not a secret, e.g. ripple-${stage ?? 'dev'}-${name})`);
      }
      c.externalId = String(e.externalId);
      if (e.forwarderRoleArn) c.forwarderRoleArn = e.forwarderRoleArn;
    }
    if (i === 0 && kind !== 'local') {
      throw new Error(`param "cluster": the primary cluster "${name}" must be in the stack's account and region (${region}): its audit log is subscribed by this stack; make a local cluster the primary, or deploy the stage in ${kind === 'region' ? own : 'that account'}`);
    }
    return c;
  });
}

function partitionOf(region) {
  if (String(region).startsWith('cn-')) return 'aws-cn';
  if (String(region).startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** PascalCase, alphanumeric: a CloudFormation logical id part for a cluster name. */
function logicalPart(name) {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

/** Logical-id part per cluster: PascalCase name, made unique by position when two names normalise alike. */
function clusterParts(names) {
  const seen = new Set();
  return names.map((name, i) => {
    let part = logicalPart(name) || `Cluster${i + 1}`;
    if (seen.has(part)) part = `${part}${i + 1}`;
    seen.add(part);
    return part;
  });
}

/** Strings (names) or resolved clusters -> resolved clusters (a bare name is a local cluster). */
function asClusters(list) {
  return list.map((c) => (typeof c === 'string' ? { name: c, kind: 'local' } : c));
}

/** eks:DescribeCluster resources: the clusters of the stack's account, each in its region. */
function clusterArn(c) {
  if (c.kind === 'region') return { 'Fn::Sub': `arn:\${AWS::Partition}:eks:${c.region}:\${AWS::AccountId}:cluster/${c.name}` };
  return { 'Fn::Sub': `arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${c.name}` };
}

function describeArns(list) {
  return asClusters(list).filter((c) => c.kind !== 'account').map(clusterArn);
}

const ASSUME_POLICY = (handler) => `${logicalPart(handler)}AssumeClusterRolesPolicy`;

/** Logical ids the deploy-time reconcile waits for: the clone role's local access entries, its assume-role policy. */
function cloneAccessEntryIds(list) {
  const all = asClusters(list);
  const parts = clusterParts(all.map((c) => c.name));
  const ids = all.flatMap((c, i) => (c.kind === 'local' ? [`CloneAccessEntry${parts[i]}`] : []));
  if (all.some((c) => c.kind === 'account')) ids.push(ASSUME_POLICY('clone'));
  return ids;
}

/** The CloudFormation resources for these clusters (see the header). `stage` names the bus policy statements. */
function clusterResources(list, constants = readConstants()) {
  const all = asClusters(list);
  const Resources = {};
  const parts = clusterParts(all.map((c) => c.name));
  all.forEach((c, i) => {
    if (c.kind !== 'local') return;
    const name = c.name;
    const part = parts[i];
    for (const [handler, role] of Object.entries(HANDLER_ROLES)) {
      const group = constants.groups[handler];
      if (!group) throw new Error(`core/constants.ts: HANDLER_GROUPS has no group for "${handler}"`);
      Resources[`${logicalPart(handler)}AccessEntry${part}`] = {
        Type: 'AWS::EKS::AccessEntry',
        Properties: {
          ClusterName: name,
          PrincipalArn: { 'Fn::GetAtt': [role, 'Arn'] },
          Type: 'STANDARD',
          KubernetesGroups: [group],
        },
      };
    }
    Resources[`ForwarderPodIdentity${part}`] = {
      Type: 'AWS::EKS::PodIdentityAssociation',
      Properties: {
        ClusterName: name,
        Namespace: constants.namespace,
        ServiceAccount: constants.serviceAccount,
        RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] },
      },
    };
    if (i > 0) {
      const logGroup = `/aws/eks/${name}/cluster`;
      Resources[`ProtectAuditPermission${part}`] = {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] },
          Principal: { 'Fn::Sub': 'logs.${AWS::Region}.amazonaws.com' },
          SourceArn: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroup}:*` },
        },
      };
      Resources[`ProtectAuditSubscription${part}`] = {
        Type: 'AWS::Logs::SubscriptionFilter',
        DependsOn: [`ProtectAuditPermission${part}`],
        Properties: {
          LogGroupName: logGroup,
          FilterPattern: readAuditFilter(),
          DestinationArn: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] },
        },
      };
    }
  });
  const remote = all.filter((c) => c.kind === 'account');
  if (remote.length) {
    // Each function may assume exactly its own role in each other account's cluster, nothing else.
    for (const [handler, role] of Object.entries(HANDLER_ROLES)) {
      Resources[ASSUME_POLICY(handler)] = {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: `ripple-${handler}-cluster-roles`,
          Roles: [{ Ref: role }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Sid: 'AssumeClusterRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [...new Set(remote.map((c) => c.roleArns[handler]))] }],
          },
        },
      };
    }
    // The forwarders of the other accounts put events on this bus directly (their role's identity policy allows
    // it; cross-account, the bus must too): one statement per account, for its forwarder roles only.
    const byAccount = new Map();
    for (const c of remote) byAccount.set(c.accountId, [...(byAccount.get(c.accountId) ?? []), c]);
    for (const [account, cs] of byAccount) {
      Resources[`RippleBusPolicy${account}`] = {
        Type: 'AWS::Events::EventBusPolicy',
        Properties: {
          EventBusName: { Ref: 'RippleBus' },
          StatementId: `ripple-forwarders-${account}`,
          Statement: {
            Effect: 'Allow',
            Principal: { AWS: `arn:${partitionOf(cs[0].region)}:iam::${account}:root` },
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': ['RippleBus', 'Arn'] },
            Condition: {
              ArnEquals: { 'aws:PrincipalArn': cs.map((c) => forwarderRoleArn(c)) },
              StringEquals: { 'events:source': constants.eventSource ?? 'ripple.kubernetes' },
            },
          },
        },
      };
    }
  }
  return { Resources };
}

/** The forwarder role the spoke stack creates in another account: `ripple-<stage>-<cluster>-forwarder`. */
function forwarderRoleArn(c) {
  return c.forwarderRoleArn ?? `arn:${partitionOf(c.region)}:iam::${c.accountId}:role/${spokeRoleName(c.stage ?? 'dev', c.name, 'forwarder')}`;
}

function readAuditFilter() {
  const file = resolve(__dirname, '..', '..', 'events', 'patterns', 'protect-audit-filter.json');
  const value = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof value !== 'string') throw new Error(`${file}: expected a JSON string (a CloudWatch Logs filter pattern)`);
  return value;
}

/** `{ "<cluster>": GetAtt ForwarderPodIdentity<X>.AssociationArn }` for the local clusters (see the header). */
function forwarderAssociations(list) {
  const all = asClusters(list);
  const parts = clusterParts(all.map((c) => c.name));
  return Object.fromEntries(all.flatMap((c, i) => (c.kind === 'local' ? [[c.name, { 'Fn::GetAtt': [`ForwarderPodIdentity${parts[i]}`, 'AssociationArn'] }]] : [])));
}

/** RIPPLE_CLUSTERS for the handlers (see the header); `handler` adds that function's role ARN in other accounts. */
function clustersEnvFor(list, handler) {
  return JSON.stringify(
    Object.fromEntries(
      asClusters(list).map((c) => {
        const e = { region: c.region };
        if (c.endpoint) Object.assign(e, { endpoint: c.endpoint, caData: c.caData });
        if (c.kind === 'account') {
          e.accountId = c.accountId;
          if (handler) e.roleArn = c.roleArns[handler];
          if (c.externalId) e.externalId = c.externalId;
        }
        return [c.name, e];
      }),
    ),
  );
}

/**
 * The stack output StageClusters, for `ripple doctor`: `name=region` per cluster, `/accountId` for another
 * account, comma separated (short: a CloudFormation output value is limited in size).
 */
function clustersSummary(list) {
  return asClusters(list)
    .map((c) => `${c.name}=${c.region ?? ''}${c.kind === 'account' ? `/${c.accountId}` : ''}`)
    .join(',');
}

/** RIPPLE_CLUSTERS (no role ARNs) from the raw params: kept for tests and older callers. */
function clustersEnv(names, clusters, region) {
  const entries = clusterEntries(clusters);
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, { region, ...(entries[n] ?? {}) }])));
}

/**
 * One ripple stage per cluster: the forwarder's service account (ripple-system/ripple-forwarder) takes one Pod
 * Identity association, each stage would clone and protect the same objects, and each takes one of the audit
 * log group's two subscription-filter slots. Pure: throws when another stage under `params:` in serverless.yml
 * names one of `names` (as `cluster` or in `clusters`). Stages not written into serverless.yml cannot be seen
 * offline: the deploy then stops at the association (EKS allows one per service account) or at the
 * deploy-time reconcile (the cluster's forwarder sends to another stage's bus); `ripple doctor` reports both.
 */
function refuseSharedClusters(stage, names, paramsByStage) {
  for (const [other, p] of Object.entries(paramsByStage ?? {})) {
    if (other === 'default' || other === stage || LOCAL_STAGES.includes(other) || !p || typeof p !== 'object') continue;
    let theirs = [];
    try {
      theirs = p.cluster || p.clusters ? parseClusters(p.cluster, p.clusters, other) : [];
    } catch {
      continue; // that stage's own package reports its own mistakes
    }
    const shared = names.filter((n) => theirs.includes(n));
    if (shared.length) {
      throw new Error(
        `stage "${stage}" and stage "${other}" (params.${other} in serverless.yml) both use cluster ${shared.map((n) => `"${n}"`).join(', ')}: ` +
          'one ripple stage per cluster (the forwarder service account ripple-system/ripple-forwarder has one Pod Identity association, ' +
          'both stages would clone and protect the same objects, and each takes one of the audit log group\'s two subscription filters). ' +
          'Deploy the other stage to another cluster, or remove it first (docs/deploy.md, "Stages").',
      );
    }
  }
}

async function clustersFrom({ resolveVariable }) {
  const cluster = await resolveVariable('param:cluster');
  const clusters = await resolveVariable('param:clusters');
  const stage = await resolveVariable('sls:stage');
  const region = (await resolveVariable('param:region')) || 'eu-west-1';
  const empty = typeof clusters === 'string' || clusters === undefined || clusters === null ? !String(clusters ?? '').trim() : false;
  // `dev` (npm start, npm run package) falls back to `ripple`; every other stage must name its cluster.
  const fallback = !cluster && empty && LOCAL_STAGES.includes(stage) ? 'ripple' : cluster;
  const list = stageClusters({ cluster: fallback, clusters, stage, region });
  refuseSharedClusters(stage, list.map((c) => c.name), await resolveVariable('self:params, null'));
  return list;
}

async function namesFrom(ctx) {
  return (await clustersFrom(ctx)).map((c) => c.name);
}

module.exports = {
  names: async (ctx) => namesFrom(ctx),
  localNames: async (ctx) => (await clustersFrom(ctx)).filter((c) => c.kind === 'local').map((c) => c.name),
  env: async (ctx) => clustersEnvFor(await clustersFrom(ctx)),
  envClone: async (ctx) => clustersEnvFor(await clustersFrom(ctx), 'clone'),
  envRollout: async (ctx) => clustersEnvFor(await clustersFrom(ctx), 'rollout'),
  envProtect: async (ctx) => clustersEnvFor(await clustersFrom(ctx), 'protect'),
  summary: async (ctx) => clustersSummary(await clustersFrom(ctx)),
  describeArns: async (ctx) => describeArns(await clustersFrom(ctx)),
  resources: async (ctx) => clusterResources(await clustersFrom(ctx)),
  cloneAccessEntryIds: async (ctx) => cloneAccessEntryIds(await clustersFrom(ctx)),
  forwarderAssociations: async (ctx) => forwarderAssociations(await clustersFrom(ctx)),
  primary: async (ctx) => (await namesFrom(ctx))[0],
  forwarderNamespace: () => readConstants().namespace,
  forwarderServiceAccount: () => readConstants().serviceAccount,
  LOCAL_STAGES,
  HANDLER_ROLES,
  clusterEntries,
  stageClusters,
  refuseSharedClusters,
  clustersEnv,
  clustersEnvFor,
  clustersSummary,
  describeArnsFor: describeArns,
  associationRefs: forwarderAssociations,
  parseClusters,
  clusterResources,
  cloneEntryIds: cloneAccessEntryIds,
  forwarderRoleArn,
  spokeRoleName,
  readConstants,
  logicalPart,
};
