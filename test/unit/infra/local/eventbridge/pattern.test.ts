/**
 * Event-pattern matcher against AWS's documented examples. Sources (cited per table):
 *   OPS   = https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (comparison operators)
 *   CF    = https://docs.aws.amazon.com/eventbridge/latest/userguide/content-filtering-with-event-patterns.html
 *   ARR   = https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
 *   NULL  = https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
 *   RULER = https://github.com/aws/event-ruler README (the engine EventBridge uses; wildcard escaping, $or, exists on leaves)
 */
import { describe, expect, it } from 'vitest';
import { InvalidEventPatternError, matches, validatePattern } from '../../../../../infra/local/eventbridge/pattern.ts';

/** The EC2 sample event used throughout the event-ruler README and the EventBridge guide. */
const ec2Event = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

type Row = [string, object, object, boolean];

const cases: Record<string, Row[]> = {
  'exact and AND (OPS "And", "Equals"; RULER simple matching)': [
    ['And: Location and Day', { Location: ['New York'], Day: ['Monday'] }, { Location: 'New York', Day: 'Monday' }, true],
    ['And: one field differs', { Location: ['New York'], Day: ['Monday'] }, { Location: 'New York', Day: 'Tuesday' }, false],
    ['Equals: Name is Alice', { Name: ['Alice'] }, { Name: 'Alice' }, true],
    ['Equals is case-sensitive', { Name: ['Alice'] }, { Name: 'alice' }, false],
    ['values in an array are ORed', { detail: { state: ['initializing', 'running'] } }, ec2Event, true],
    ['RULER simple matching (resources + detail-type + state)', { 'detail-type': ['EC2 Instance State-change Notification'], resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'], detail: { state: ['initializing', 'running'] } }, ec2Event, true],
    ['missing field does not match', { detail: { missing: ['x'] } }, ec2Event, false],
    ['number matches a number', { detail: { 'c-count': [5] } }, ec2Event, true],
    ['number matches 5.0 numerically', { n: [5] }, { n: 5.0 }, true],
    ['number does not match the string "5"', { n: [5] }, { n: '5' }, false],
    ['string "5" does not match the number 5', { n: ['5'] }, { n: 5 }, false],
    ['boolean true matches true', { flag: [true] }, { flag: true }, true],
    ['boolean true does not match "true"', { flag: [true] }, { flag: 'true' }, false],
    ['boolean false does not match null', { flag: [false] }, { flag: null }, false],
    ['large account number compared exactly', { account: [123456789012] }, { account: 123456789012 }, true],
    ['exactly operator', { source: [{ exactly: 'aws.ec2' }] }, ec2Event, true],
    ['nested objects', { detail: { state: ['running'] }, source: ['aws.ec2'] }, ec2Event, true],
    ['pattern object vs event string is no match', { detail: { state: { name: ['running'] } } }, ec2Event, false],
  ],
  'null and empty string (NULL; OPS "Null", "Empty")': [
    ['eventVersion is ""', { detail: { eventVersion: [''] } }, { detail: { eventVersion: '', responseElements: null } }, true],
    ['responseElements is null', { detail: { responseElements: [null] } }, { detail: { eventVersion: '', responseElements: null } }, true],
    ['"" does not match null', { detail: { responseElements: [''] } }, { detail: { responseElements: null } }, false],
    ['null does not match ""', { detail: { eventVersion: [null] } }, { detail: { eventVersion: '' } }, false],
    ['null does not match a missing field', { UserID: [null] }, {}, false],
    ['OPS Null: UserID is null', { UserID: [null] }, { UserID: null }, true],
    ['OPS Empty: LastName is empty', { LastName: [''] }, { LastName: '' }, true],
  ],
  'prefix (CF "Prefix matching"; OPS "Begins with")': [
    ['time starts with 2017-10-02', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' }, true],
    ['time on another day', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' }, false],
    ['Region is in the US', { Region: [{ prefix: 'us-' }] }, { Region: 'us-east-1' }, true],
    ['Region is not in the US', { Region: [{ prefix: 'us-' }] }, { Region: 'eu-west-1' }, false],
    ['prefix only works on strings', { n: [{ prefix: '1' }] }, { n: 12 }, false],
    ['auto scaling from European regions', { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] }, { source: 'aws.autoscaling', region: 'eu-central-1' }, true],
  ],
  'prefix with equals-ignore-case (CF; OPS "Begins with (ignore case)")': [
    ['service starts with EventB', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'eventbridge' } }, true],
    ['EVENTB casing', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'EVENTBRIDGE' } }, true],
    ['other prefix', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'lambda' } }, false],
  ],
  'suffix (OPS "Ends with")': [
    ['FileName ends with .png', { FileName: [{ suffix: '.png' }] }, { FileName: 'photo.png' }, true],
    ['FileName ends with .PNG (case-sensitive)', { FileName: [{ suffix: '.png' }] }, { FileName: 'photo.PNG' }, false],
    ['RULER: source ends with ec2', { source: [{ suffix: 'ec2' }] }, ec2Event, true],
  ],
  'suffix with equals-ignore-case (OPS "Ends with (ignore case)")': [
    ['FileName ends with .png in any case', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, { detail: { FileName: 'photo.PNG' } }, true],
    ['service ends with tbridge', { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] }, { service: 'EventBridge' }, true],
    ['other suffix', { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] }, { service: 'EventBus' }, false],
  ],
  'equals-ignore-case (OPS "Equals (ignore case)")': [
    ['Name is alice in any case', { Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'ALICE' }, true],
    ['Name is someone else', { Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Bob' }, false],
    ['RULER: source EC2', { source: [{ 'equals-ignore-case': 'EC2' }] }, { source: 'ec2' }, true],
  ],
  'wildcard (OPS "Wildcard"; RULER wildcard matching)': [
    ['Simple*Service matches SimpleQueueService', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleQueueService' }, true],
    ['Simple*Service matches SimpleService (empty run)', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleService' }, true],
    ['Simple*Service does not match SimpleServices', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleServices' }, false],
    ['dir/*.png matches dir/dir2/image.png', { Key: [{ wildcard: 'dir/*.png' }] }, { Key: 'dir/dir2/image.png' }, true],
    ['event bus ARN with two wildcards', { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] }, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' }, true],
    ['escaped asterisk is literal', { v: [{ wildcard: 'a\\*b' }] }, { v: 'a*b' }, true],
    ['escaped asterisk does not match other text', { v: [{ wildcard: 'a\\*b' }] }, { v: 'axb' }, false],
    ['escaped backslash is literal', { v: [{ wildcard: 'a\\\\b' }] }, { v: 'a\\b' }, true],
    ['regex metacharacters are literal', { v: [{ wildcard: 'a.b*' }] }, { v: 'axb' }, false],
    ['wildcard only works on strings', { v: [{ wildcard: '*' }] }, { v: 1 }, false],
  ],
  'anything-but (CF "Anything-but matching"; OPS "Anything-but")': [
    ['state besides initializing: running', { detail: { state: [{ 'anything-but': 'initializing' }] } }, ec2Event, true],
    ['state besides initializing: initializing', { detail: { state: [{ 'anything-but': 'initializing' }] } }, { detail: { state: 'initializing' } }, false],
    ['x-limit besides 123', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, ec2Event, true],
    ['x-limit is 123', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, { detail: { 'x-limit': 123 } }, false],
    ['list of strings: stopped', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, { detail: { state: 'stopped' } }, false],
    ['list of strings: running', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, ec2Event, true],
    ['list of numbers: 200', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, { detail: { 'x-limit': 200 } }, false],
    ['list of numbers: 301.8', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, ec2Event, true],
    ['not CloudTrail API calls', { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] }, ec2Event, true],
    ['not from EC2 or S3', { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] }, ec2Event, false],
    ['anything-but needs the field present', { detail: { missing: [{ 'anything-but': 'x' }] } }, ec2Event, false],
  ],
  'anything-but prefix / suffix / equals-ignore-case / wildcard (CF; OPS)': [
    ['state without prefix init: initializing', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, { detail: { state: 'initializing' } }, false],
    ['state without prefix init: running', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, ec2Event, true],
    ['only our own events (not aws.)', { source: [{ 'anything-but': { prefix: 'aws.' } }] }, { source: 'ripple.kubernetes' }, true],
    ['Region not in the US', { Region: [{ 'anything-but': { prefix: 'us-' } }] }, { Region: 'us-west-2' }, false],
    ['FileName does not end with .png: photo.png', { FileName: [{ 'anything-but': { suffix: '.png' } }] }, { FileName: 'photo.png' }, false],
    ['FileName does not end with .png: doc.txt', { FileName: [{ 'anything-but': { suffix: '.png' } }] }, { FileName: 'doc.txt' }, true],
    ['state besides initializing in any case', { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] }, { state: 'INITIALIZING' }, false],
    ['anything-but equals-ignore-case list', { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OVERLOADED'] } }] }, { state: 'running' }, true],
    ['FilePath does not include /lib/: lib path', { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { FilePath: '/usr/lib/x.so' }, false],
    ['FilePath does not include /lib/: bin path', { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { FilePath: '/usr/bin/x' }, true],
    ['anything-but prefix list', { source: [{ 'anything-but': { prefix: ['aws.', 'partner.'] } }] }, { source: 'partner.x' }, false],
  ],
  'numeric (CF "Numeric matching"; OPS "Numeric")': [
    ['documented example matches 5 / 3 / 301.8', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, ec2Event, true],
    ['c-count 6 is outside (0,5]', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, { detail: { 'c-count': 6 } }, false],
    ['c-count 0 is outside (0,5]', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, { detail: { 'c-count': 0 } }, false],
    ['Price in (10, 20]', { Price: [{ numeric: ['>', 10, '<=', 20] }] }, { Price: 20 }, true],
    ['>= includes the bound', { n: [{ numeric: ['>=', 10] }] }, { n: 10 }, true],
    ['< excludes the bound', { n: [{ numeric: ['<', 10] }] }, { n: 10 }, false],
    ['numeric only works on JSON numbers', { n: [{ numeric: ['>', 0] }] }, { n: '5' }, false],
    ['six decimal places of precision', { n: [{ numeric: ['=', 1.0000001] }] }, { n: 1 }, true],
    ['seventh decimal place is beyond precision but sixth is not', { n: [{ numeric: ['=', 1.000001] }] }, { n: 1 }, false],
    ['complex example (CF)', { time: [{ prefix: '2017-10-02' }], detail: { state: [{ 'anything-but': 'initializing' }], 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, ec2Event, true],
  ],
  'IP address matching (CF "IP address matching"; OPS "IP address")': [
    ['10.0.0.33 in 10.0.0.0/24', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, ec2Event, true],
    ['10.0.1.1 not in 10.0.0.0/24', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, { detail: { 'source-ip': '10.0.1.1' } }, false],
    ['sourceIPAddress in 10.0.0.0/8', { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/8' }] } }, { detail: { sourceIPAddress: '10.255.3.4' } }, true],
    ['IPv6 in 2001:db8::/32', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:0:1::5' }, true],
    ['IPv6 outside 2001:db8::/32', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::5' }, false],
    ['IPv4 does not match an IPv6 range', { ip: [{ cidr: '::/1' }] }, { ip: '10.0.0.1' }, false],
    ['not an IP', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 'hostname' }, false],
    ['host bits set: 10.0.0.1 in 10.0.0.5/24 (the network is the masked prefix)', { ip: [{ cidr: '10.0.0.5/24' }] }, { ip: '10.0.0.1' }, true],
    ['host bits set: 10.0.0.255 in 10.0.0.5/24', { ip: [{ cidr: '10.0.0.5/24' }] }, { ip: '10.0.0.255' }, true],
    ['host bits set: 10.0.1.0 outside 10.0.0.5/24', { ip: [{ cidr: '10.0.0.5/24' }] }, { ip: '10.0.1.0' }, false],
    ['host bits set in a partial byte: 10.0.0.129 in 10.0.0.200/25', { ip: [{ cidr: '10.0.0.200/25' }] }, { ip: '10.0.0.129' }, true],
    ['host bits set in a partial byte: 10.0.0.127 outside 10.0.0.200/25', { ip: [{ cidr: '10.0.0.200/25' }] }, { ip: '10.0.0.127' }, false],
    ['IPv6 host bits set: 2001:db8::1 in 2001:db8::ff/120', { ip: [{ cidr: '2001:db8::ff/120' }] }, { ip: '2001:db8::1' }, true],
    ['exact IPv6 literal compares addresses', { ip: ['2001:db8::1'] }, { ip: '2001:0db8:0:0:0:0:0:1' }, true],
  ],
  'exists (CF "Exists matching"; OPS "Exists", "Does not exist")': [
    ['no detail.c-count field', { detail: { 'c-count': [{ exists: false }] } }, { 'detail-type': 'EC2 Instance State-change Notification', detail: { state: ['initializing', 'running'] } }, true],
    ['c-count is not a leaf node', { detail: { 'c-count': [{ exists: false }] } }, { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } }, true],
    ['exists true on an intermediate node does not match', { detail: { 'c-count': [{ exists: true }] } }, { detail: { 'c-count': { c1: 100 } } }, false],
    ['description exists', { detail: { description: [{ exists: true }] } }, { detail: { description: 'x' } }, true],
    ['description missing', { detail: { description: [{ exists: true }] } }, { detail: {} }, false],
    ['ProductName exists with null value', { ProductName: [{ exists: true }] }, { ProductName: null }, true],
    ['exists false with the field present', { ProductName: [{ exists: false }] }, { ProductName: 'x' }, false],
    ['exists true on an array with values', { tags: [{ exists: true }] }, { tags: ['a'] }, true],
    ['an empty array has no leaf: exists false', { tags: [{ exists: false }] }, { tags: [] }, true],
    ['an empty array has no leaf: exists true', { tags: [{ exists: true }] }, { tags: [] }, false],
    ['exists false when the parent is missing', { detail: { x: [{ exists: false }] } }, { source: 's' }, true],
  ],
  'arrays (ARR; RULER array matching)': [
    ['intersection is non-empty', { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f', 'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f', 'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] }, { resources: ['arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate', 'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }, true],
    ['intersection is empty', { resources: ['a', 'b'] }, { resources: ['c', 'd'] }, false],
    ['operator applies to each element', { changes: [{ prefix: 'da' }] }, { changes: ['labels', 'data'] }, true],
    ['objects in arrays: one element matches the sub-pattern', { a: { b: [1], c: [2] } }, { a: [{ b: 1, c: 2 }, { b: 3, c: 4 }] }, true],
    ['objects in arrays: fields from different elements do not combine', { a: { b: [1], c: [4] } }, { a: [{ b: 1, c: 2 }, { b: 3, c: 4 }] }, false],
    ['anything-but on an array: some element is not excluded', { s: [{ 'anything-but': 'a' }] }, { s: ['a', 'b'] }, true],
  ],
  '$or (OPS "Or"; RULER "$or" examples)': [
    ['Location or Day: Day matches', { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] }, { Location: 'Boston', Day: 'Monday' }, true],
    ['Location or Day: neither', { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] }, { Location: 'Boston', Day: 'Friday' }, false],
    ['source && (metricName || namespace)', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, { source: 'aws.cloudwatch', namespace: 'AWS/ES' }, true],
    ['source && (metricName || namespace): wrong source', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, { source: 'aws.ec2', namespace: 'AWS/ES' }, false],
    ['parallel $or at two levels', { $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }], detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] } }, { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } }, true],
    ['parallel $or: second level fails', { $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }], detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] } }, { namespace: 'AWS/EC2', detail: { 'detail-type': 'other' } }, false],
    ['$or with an AND inside', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' }, true],
    ['$or with an AND inside: half of the AND', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType' }, false],
    ['nested $or', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType', spaceId: 1000 }, true],
    ['nested $or: inner fails', { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] }, { source: 'aws.cloudwatch', metricType: 'MetricType', spaceId: 1 }, false],
    ['numeric alternatives inside detail', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }] } }, { detail: { 'c-count': 9, 'd-count': 50, 'x-limit': 301.8 } }, true],
  ],
};

describe('matches(): documented EventBridge examples', () => {
  for (const [group, rows] of Object.entries(cases)) {
    describe(group, () => {
      it.each(rows)('%s', (_name, pattern, event, expected) => {
        expect(validatePattern(pattern)).toBeNull();
        expect(matches(pattern, event)).toBe(expected);
      });
    });
  }

  it('accepts the pattern as JSON text', () => {
    expect(matches('{"source":["aws.ec2"]}', ec2Event)).toBe(true);
  });
});

describe('validatePattern(): EventBridge reasons (event-ruler JsonRuleCompiler)', () => {
  it.each([
    ['not an object', [], 'Filter is not an object'],
    ['empty pattern', {}, 'Empty objects are not allowed'],
    ['leaf is not an array', { source: 'aws.ec2' }, '"source" must be an object or an array at source'],
    ['leaf is a number', { detail: { n: 5 } }, '"n" must be an object or an array at detail.n'],
    ['empty value array', { source: [] }, 'Empty arrays are not allowed at source'],
    ['nested array value', { source: [['a']] }, 'Match value must be String, number, true, false, or null at source'],
    ['unknown operator', { source: [{ contains: 'ec2' }] }, 'Unrecognized match type contains at source'],
    ['empty match expression', { source: [{}] }, 'Match expression name not found at source'],
    ['two operators in one expression', { source: [{ prefix: 'a', suffix: 'b' }] }, 'Only one key allowed in match expression at source'],
    ['prefix not a string', { source: [{ prefix: 1 }] }, 'prefix match pattern must be a string at source'],
    ['prefix with another nested operator', { source: [{ prefix: { wildcard: 'a*' } }] }, 'Unsupported prefix pattern: wildcard at source'],
    ['suffix not a string', { source: [{ suffix: true }] }, 'suffix match pattern must be a string at source'],
    ['equals-ignore-case not a string', { source: [{ 'equals-ignore-case': 1 }] }, 'equals-ignore-case match pattern must be a string at source'],
    ['consecutive wildcards', { source: [{ wildcard: 'a**b' }] }, 'Consecutive wildcard characters at pos 2 at source'],
    ['invalid escape', { source: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2 at source'],
    ['trailing backslash', { source: [{ wildcard: 'ab\\' }] }, 'Invalid escape character at pos 3 at source'],
    ['numeric not an array', { n: [{ numeric: 5 }] }, 'Value of numeric must be an array. at n'],
    ['numeric unknown operator', { n: [{ numeric: ['~', 5] }] }, 'Unrecognized numeric range operator: ~ at n'],
    ['numeric value not a number', { n: [{ numeric: ['>', '5'] }] }, 'Value of > must be numeric at n'],
    ['numeric = with a string', { n: [{ numeric: ['=', 'x'] }] }, 'Value of equals must be numeric at n'],
    ['numeric too many elements', { n: [{ numeric: ['<', 5, '>', 1] }] }, 'Too many elements in numeric expression at n'],
    ['numeric bad range operator', { n: [{ numeric: ['>', 0, '>', 5] }] }, 'Bad numeric range operator: > at n'],
    ['numeric bad range value', { n: [{ numeric: ['>', 0, 5] }] }, 'Bad value in numeric range: 5 at n'],
    ['numeric too many terms', { n: [{ numeric: ['>', 0, '<', 5, '<', 6] }] }, 'Too many terms in numeric range expression at n'],
    ['numeric inverted range', { n: [{ numeric: ['>', 5, '<', 1] }] }, 'Bottom must be less than top at n'],
    ['numeric out of range', { n: [{ numeric: ['>', 6e9] }] }, 'Value must be between -5.0E9 and 5.0E9, inclusive at n'],
    ['numeric empty', { n: [{ numeric: [] }] }, 'Invalid member in numeric match: ] at n'],
    ['anything-but mixed list', { s: [{ 'anything-but': ['a', 1] }] }, 'Inside anything but list, either all values are number or string, mixed type is not supported at s'],
    ['anything-but null in list', { s: [{ 'anything-but': [null] }] }, 'Inside anything but list, start|null|boolean is not supported. at s'],
    ['anything-but boolean', { s: [{ 'anything-but': true }] }, 'Value of anything-but must be an array or single string/number value. at s'],
    ['anything-but unsupported nested operator', { s: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'Unsupported anything-but pattern: numeric at s'],
    ['anything-but empty prefix', { s: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed at s'],
    ['anything-but equals-ignore-case number', { s: [{ 'anything-but': { 'equals-ignore-case': 5 } }] }, 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported. at s'],
    ['anything-but wildcard invalid', { s: [{ 'anything-but': { wildcard: '**' } }] }, 'Consecutive wildcard characters at pos 1 at s'],
    ['exists not boolean', { s: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false. at s'],
    ['cidr without mask', { ip: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required at ip"],
    ['cidr bad mask', { ip: [{ cidr: '10.0.0.0/x' }] }, 'Malformed CIDR, mask bits must be an integer at ip'],
    ['cidr IPv4 /32', { ip: [{ cidr: '10.0.0.1/32' }] }, 'IPv4 mask bits must be < 32 at ip'],
    ['cidr IPv6 /128', { ip: [{ cidr: '::1/128' }] }, 'IPv6 mask bits must be < 128 at ip'],
    ['cidr not an address', { ip: [{ cidr: 'example.com/8' }] }, 'Nonstandard IP address: example.com at ip'],
    ['empty $or', { $or: [] }, 'There must have at least 2 Objects in $or relationship. at $or'],
    ['$or with one object', { $or: [{ a: ['x'] }] }, 'There must have at least 2 Objects in $or relationship. at $or'],
    ['$or not an array', { $or: { a: ['x'] } }, 'It must be an Array followed with $or. at $or'],
    ['$or with a non-object', { $or: [{ a: ['x'] }, 'b'] }, 'Only JSON object is allowed in array of $or relationship. at $or'],
    ['reserved name inside $or', { $or: [{ numeric: [1] }, { prefix: ['a'] }] }, 'numeric is Ruler reserved fieldName which cannot be used inside $or. at numeric'],
    ['empty object inside', { detail: {} }, 'Empty objects are not allowed at detail'],
  ])('%s', (_name, pattern, reason) => {
    expect(validatePattern(pattern)).toBe(reason);
    expect(() => matches(pattern, {})).toThrow(InvalidEventPatternError);
  });

  it('reports JSON syntax errors of pattern text', () => {
    expect(validatePattern('{"source": [')).toMatch(/^Event pattern is not valid JSON/);
  });
});
