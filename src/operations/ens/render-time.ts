/** Times on the wire: ISO 8601 UTC to the second, `2024-01-01T00:00:00Z`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}
