// RFC 3986 percent-encoding as both signature versions define it: encodeURIComponent plus
// ! ' ( ) * escaped. Incoming parameters are decoded first and re-encoded with this rule, because
// the SDKs put some of those characters on the wire raw while signing them escaped.

const EXTRA = /[!'()*]/g;
const HAS_EXTRA = /[!'()*]/;

export function percentEncode(value: string): string {
  const encoded = encodeURIComponent(value);
  // Most values hold none of the five: a replace with a callback is slow even when nothing matches.
  return HAS_EXTRA.test(encoded)
    ? encoded.replace(EXTRA, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    : encoded;
}

/** `name=value` pairs sorted by name (code-unit order), both percent-encoded, joined with `&`. */
export function canonicalQuery(params: ReadonlyMap<string, string>, skip?: string): string {
  const names = [...params.keys()].filter((n) => n !== skip).sort();
  let out = '';
  for (const name of names) {
    if (out) out += '&';
    out += percentEncode(name) + '=' + percentEncode(params.get(name) as string);
  }
  return out;
}
