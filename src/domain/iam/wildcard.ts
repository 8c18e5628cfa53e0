// Wildcard patterns of the RAM policy language: `*` stands for any run of characters (none
// included), `?` for exactly one, every other character is literal. Used for Action and Resource
// and by StringLike.

/** A run of a pattern between two `*`; `any` if it has a `?`. */
interface Piece {
  text: string;
  any: boolean;
}

/**
 * Per pattern, one matcher shared by every statement of every policy that has it, remembering its
 * last answer: the statements checked for one request all see the same string, so a pattern that
 * many statements repeat (`acs:ens:*:*:disk/*`) is matched once per request. Bounded, so policies
 * compiled over a long run cannot grow it without end (past the bound, matchers are not shared).
 */
const shared = new Map<string, (text: string) => boolean>();
const MAX_SHARED = 4096;

/**
 * A test of whether a text matches any of `patterns` whole, case-sensitively. No RegExp: a pattern
 * is cut at its `*`s into pieces, found in order with plain string comparisons, which is faster
 * than a RegExp on the short texts (ARNs, addresses) matched here.
 */
export function wildcardMatcher(patterns: readonly string[]): (text: string) => boolean {
  const matchers = patterns.map(patternMatcher);
  if (matchers.length === 1) return matchers[0]!;
  return (text) => {
    for (let i = 0; i < matchers.length; i++) if (matchers[i]!(text)) return true;
    return false;
  };
}

function patternMatcher(pattern: string): (text: string) => boolean {
  const known = shared.get(pattern);
  if (known !== undefined) return known;
  const pieces = pattern.split('*').map((text) => ({ text, any: text.includes('?') }));
  const minLength = pattern.length - (pieces.length - 1);
  let lastText: string | undefined;
  let lastAnswer = false;
  const matcher = (text: string): boolean => {
    if (text !== lastText) {
      lastText = text;
      lastAnswer = text.length >= minLength && matches(text, pieces);
    }
    return lastAnswer;
  };
  if (shared.size < MAX_SHARED) shared.set(pattern, matcher);
  return matcher;
}

/** Whether `text`, at least as long as the pieces together, matches them. */
function matches(text: string, pieces: readonly Piece[]): boolean {
  const first = pieces[0]!;
  if (pieces.length === 1) return text.length === first.text.length && pieceAt(text, 0, first);
  const last = pieces[pieces.length - 1]!;
  const end = text.length - last.text.length;
  // The end first: texts that share a start (acs:ens:…) tend to differ there.
  if (!pieceAt(text, end, last) || !pieceAt(text, 0, first)) return false;
  // Each middle piece at its leftmost place after the previous one: if any placement works, that one does.
  let from = first.text.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    let at = piece.any ? from : text.indexOf(piece.text, from);
    if (piece.any) while (at + piece.text.length <= end && !pieceAt(text, at, piece)) at++;
    if (at < 0 || at + piece.text.length > end) return false;
    from = at + piece.text.length;
  }
  return true;
}

/** Whether `piece` is in `text` at `at`. */
function pieceAt(text: string, at: number, piece: Piece): boolean {
  if (piece.text === '') return true;
  if (!piece.any) return text.startsWith(piece.text, at);
  for (let j = 0; j < piece.text.length; j++) {
    const c = piece.text.charCodeAt(j);
    if (c !== 63 && c !== text.charCodeAt(at + j)) return false;
  }
  return true;
}
