// Sends one authenticated API request (a RequestContext kube-config.ts filled) over node:http(s)
// and resolves with the response as it starts: status, headers, and the body as a stream, which
// lists read whole and watches line by line. Aborting the signal destroys the request and its body.
import type { IncomingMessage } from 'node:http';
import { http, https } from '../system/node-http.ts';
import type { RequestContext } from './request-context.ts';

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export function send(ctx: RequestContext, opts: SendOptions = {}): Promise<IncomingMessage> {
  const url = new URL(ctx.getUrl());
  const request = url.protocol === 'http:' ? http.request : https.request;
  const headers: Record<string, string> = { ...ctx.getHeaders(), ...opts.headers };
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const agent = ctx.getAgent();
    const req = request(url, {
      method: ctx.httpMethod, headers, ...(agent === undefined ? {} : { agent }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    }, resolve);
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The whole body as text. */
export async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}
