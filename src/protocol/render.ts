// Response bodies: JSON (default for V3 and for Format=JSON) or XML (Format=XML, and the
// documented default of V1 requests that name no Format). RequestId comes first in both.

export type ResponseFormat = 'JSON' | 'XML';

export interface Rendered {
  contentType: string;
  body: string;
}

export function renderSuccess(
  format: ResponseFormat,
  action: string,
  requestId: string,
  fields: Record<string, unknown>,
): Rendered {
  const body = { RequestId: requestId, ...fields };
  if (format === 'JSON') return { contentType: 'application/json;charset=utf-8', body: JSON.stringify(body) };
  return { contentType: 'text/xml;charset=utf-8', body: xmlDocument(`${action}Response`, body) };
}

export function renderError(
  format: ResponseFormat,
  error: {
    requestId: string;
    hostId: string;
    code: string;
    message: string;
    accessDeniedDetail?: Record<string, string>;
  },
): Rendered {
  const body: Record<string, unknown> = {
    RequestId: error.requestId,
    HostId: error.hostId,
    Code: error.code,
    Message: error.message,
  };
  // On a RAM denial, as the provider's gateway adds it (the V3 SDKs copy it into their error).
  if (error.accessDeniedDetail) body.AccessDeniedDetail = error.accessDeniedDetail;
  if (format === 'JSON') return { contentType: 'application/json;charset=utf-8', body: JSON.stringify(body) };
  return { contentType: 'text/xml;charset=utf-8', body: xmlDocument('Error', body) };
}

function xmlDocument(root: string, value: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${xmlElement(root, value)}`;
}

// Arrays repeat their element name once per item (the XML form is unconfirmed in the reference;
// this is the form the provider's other RPC APIs use).
function xmlElement(name: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => xmlElement(name, item)).join('');
  if (value !== null && typeof value === 'object') {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => xmlElement(k, v))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value ?? ''))}</${name}>`;
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(text: string): string {
  return (
    text
      .replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string)
      // Characters XML 1.0 cannot carry at all, not even escaped.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
  );
}
