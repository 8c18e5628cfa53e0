// Decoding an RPC request: query string and form body with form rules (`+` is a space, %XX is
// UTF-8), merged into one parameter map. Malformed encoding and a parameter given twice are the
// caller's mistakes, answered before anything else happens.
import { ApiError } from '../errors/catalog.js';

export interface HttpRequestView {
  method: string;
  /** Raw request target, e.g. `/?Action=…`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Raw body bytes (empty when none). */
  body: Buffer;
  sourceIp: string;
  secure: boolean;
}

export interface DecodedRequest {
  http: HttpRequestView;
  path: string;
  /** Query parameters alone (V3 signs them apart from the body). */
  query: Map<string, string>;
  /** Query and form-body parameters together. */
  params: Map<string, string>;
}

export function header(http: HttpRequestView, name: string): string | undefined {
  const v = http.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function decodeRequest(http: HttpRequestView): DecodedRequest {
  const q = http.url.indexOf('?');
  const path = q < 0 ? http.url : http.url.slice(0, q);
  const query = parseForm(q < 0 ? '' : http.url.slice(q + 1), new Map());
  const params = new Map(query);
  const contentType = (header(http, 'content-type') ?? '').toLowerCase();
  if (http.body.length > 0 && contentType.startsWith('application/x-www-form-urlencoded')) {
    const text = decodeUtf8(http.body);
    parseForm(text, params);
  }
  return { http, path, query, params };
}

/** `a=1&b=2` into `into`; a name already present is refused. */
function parseForm(text: string, into: Map<string, string>): Map<string, string> {
  if (text === '') return into;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    if (name === '') throw new ApiError('InvalidParameter.Encoding', 'a parameter without a name');
    if (into.has(name)) throw new ApiError('InvalidParameter.%s', name);
    into.set(name, value);
  }
  return into;
}

function decodeComponent(text: string): string {
  // Without % or + there is nothing to decode (most names, many values): the text is the value.
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new ApiError('InvalidParameter.Encoding', 'malformed percent-encoding or UTF-8');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError('InvalidParameter.Encoding', 'the body is not UTF-8');
  }
}
