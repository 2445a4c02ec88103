'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Saved Logs Insights queries and the CloudWatch dashboard, for serverless.yml (`resources`).
 * The query strings come from cli/logs/queries.ts, the same module `ripple logs` uses (loading a .ts module needs
 * Node >= 24, which the project pins; `npm run` and `npx` use it).
 */
/** HANDLER_GROUPS' keys, read from core/constants.ts (./clusters.cjs). */
const HANDLERS = Object.keys(require('./clusters.cjs').readConstants().groups);
const LOG_GROUP = { clone: 'CloneLogGroup', rollout: 'RolloutLogGroup', protect: 'ProtectLogGroup' };
const FUNCTION = { clone: 'CloneLambdaFunction', rollout: 'RolloutLambdaFunction', protect: 'ProtectLambdaFunction' };

const SAVED_JSON = require('node:path').join(__dirname, 'saved-queries.json');

function loadQueries() {
  try {
    return require('../../cli/logs/queries.ts');
  } catch (err) {
    const fs = require('node:fs');
    if (!fs.existsSync(SAVED_JSON)) {
      throw new Error(`infra/aws/observability.cjs: cannot load cli/logs/queries.ts (${err.message}) and ${SAVED_JSON} is missing`, { cause: err });
    }
    const saved = JSON.parse(fs.readFileSync(SAVED_JSON, 'utf8'));
    return { savedQueries: () => saved.savedQueries, errorsQuery: () => saved.dashboardErrorsQuery };
  }
}

/** What saved-queries.json holds: the saved queries and the dashboard's error table query. */
function savedQueriesSnapshot(queries = loadQueries()) {
  return { savedQueries: queries.savedQueries(), dashboardErrorsQuery: queries.errorsQuery(50) };
}

/** AWS::Logs::QueryDefinition resources, one per saved query, in the `ripple-<stage>/` folder. */
function queryDefinitions(stage, queries = loadQueries()) {
  const Resources = {};
  for (const q of queries.savedQueries()) {
    Resources[`Query${q.id}`] = {
      Type: 'AWS::Logs::QueryDefinition',
      Properties: {
        Name: `ripple-${stage}/${q.title}`,
        LogGroupNames: q.handlers.map((h) => ({ Ref: LOG_GROUP[h] })),
        QueryString: q.queryString,
      },
    };
  }
  return Resources;
}

/** CloudFormation for the dashboard body: a JSON string with ${...} substitutions (Fn::Sub). */
function dashboard(stage, queries = loadQueries()) {
  const region = '${AWS::Region}';
  const fn = (h) => `\${${FUNCTION[h]}}`;
  const lambdaMetric = (metric, stat) => HANDLERS.map((h) => ['AWS/Lambda', metric, 'FunctionName', fn(h), { stat, label: h }]);
  const dlqs = [
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${CloneDlq.QueueName}', { label: 'clone DLQ' }],
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${ProtectDlq.QueueName}', { label: 'protect DLQ' }],
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${RolloutDlq.QueueName}', { label: 'rollout DLQ' }],
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', '${RolloutQueue.QueueName}', { label: 'rollout queue' }],
  ];
  const rules = HANDLERS.map((h) => ['AWS/Events', 'MatchedEvents', 'EventBusName', '${RippleBus}', 'RuleName', `ripple-${stage}-${h}`, { stat: 'Sum', label: `${h} rule` }]);
  const widget = (x, y, title, metrics, extra = {}) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, view: 'timeSeries', stacked: false, period: 300, metrics, ...extra },
  });
  const body = {
    widgets: [
      widget(0, 0, 'Events matched per rule (forwarder activity)', rules),
      widget(12, 0, 'Invocations', lambdaMetric('Invocations', 'Sum')),
      widget(0, 6, 'Errors', lambdaMetric('Errors', 'Sum')),
      widget(12, 6, 'Duration p95 (ms)', lambdaMetric('Duration', 'p95')),
      widget(0, 12, 'Dead-letter queues and rollout backlog', dlqs, { stat: 'Maximum' }),
      widget(12, 12, 'Protection: violations, denied attempts, restores', [['Ripple', 'ProtectionViolations', 'service', 'ripple-protect', { stat: 'Sum', label: 'violations' }], ['Ripple', 'ProtectionDenied', 'service', 'ripple-protect', { stat: 'Sum', label: 'denied' }], ['Ripple', 'ProtectionRestores', 'service', 'ripple-protect', { stat: 'Sum', label: 'restores' }]]),
      {
        type: 'log',
        x: 0,
        y: 18,
        width: 24,
        height: 6,
        properties: {
          title: 'Recent errors',
          region,
          view: 'table',
          query: `SOURCE '/aws/lambda/ripple-${stage}-clone' | SOURCE '/aws/lambda/ripple-${stage}-rollout' | SOURCE '/aws/lambda/ripple-${stage}-protect' | ${savedQueriesSnapshot(queries).dashboardErrorsQuery.replace(/\n/g, ' ')}`,
        },
      },
    ],
  };
  return {
    RippleDashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: `ripple-${stage}`,
        DashboardBody: { 'Fn::Sub': JSON.stringify(body) },
      },
    },
  };
}

const ALARMS_YML = require('node:path').join(__dirname, 'observability.yml');
const SNS_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** Logical ids of the alarms in observability.yml. */
function alarmIds(file = ALARMS_YML) {
  const { parse } = require('yaml');
  const doc = parse(require('node:fs').readFileSync(file, 'utf8'));
  return Object.entries(doc.Resources ?? {})
    .filter(([, r]) => r && r.Type === 'AWS::CloudWatch::Alarm')
    .map(([id]) => id);
}

/**
 * `resources` item: with an SNS topic ARN, `extensions` giving every alarm AlarmActions and OKActions on it;
 * without one, nothing (the alarms carry no action keys at all).
 */
function alarmActions(topicArn, ids = alarmIds()) {
  const arn = String(topicArn ?? '').trim();
  if (!arn) return {};
  if (!SNS_ARN.test(arn)) throw new Error(`param "alarmTopicArn": "${arn}" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)`);
  return { extensions: Object.fromEntries(ids.map((id) => [id, { Properties: { AlarmActions: [arn], OKActions: [arn] } }])) };
}

async function stageOf({ resolveVariable }) {
  return resolveVariable('sls:stage');
}

module.exports = {
  resources: async (ctx) => {
    const stage = await stageOf(ctx);
    const queries = loadQueries();
    return { Resources: { ...queryDefinitions(stage, queries), ...dashboard(stage, queries) } };
  },
  alarmActions: async ({ resolveVariable }) => alarmActions(await resolveVariable('param:alarmTopicArn')),
  alarmActionsFor: alarmActions,
  alarmIds,
  queryDefinitions,
  dashboard,
  savedQueriesSnapshot,
};

if (require.main === module && process.argv.includes('--write-saved-queries')) {
  require('node:fs').writeFileSync(SAVED_JSON, `${JSON.stringify(savedQueriesSnapshot(), null, 2)}\n`);
  console.log(`wrote ${SAVED_JSON}`);
}
