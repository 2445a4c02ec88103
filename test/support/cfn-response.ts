/**
 * A local HTTP server standing in for a CloudFormation custom resource's presigned ResponseURL: it records every
 * response body (Status, Reason, Data…) the handler PUTs to it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ResponseSink {
  /** The ResponseURL to put in the custom-resource event. */
  url: string;
  /** Every response received, in order (clear it with `answers.length = 0`). */
  answers: any[];
  stop(): Promise<void>;
}

export async function startResponseSink(path = '/presigned'): Promise<ResponseSink> {
  const answers: any[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      answers.push(JSON.parse(text));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    answers,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
