// IP addresses and CIDR blocks for the IpAddress operators: IPv4 and IPv6, parsed into 32-bit
// words so that a block test is a few integer operations.

/** An address: IPv4 as one 32-bit word, IPv6 as four (most significant first). */
export interface Ip {
  v4: boolean;
  words: number[];
  /** Written as an IPv4-mapped IPv6 address (::ffff:a.b.c.d); `v4` and `words` are then the IPv4's. */
  mapped: boolean;
}

export interface Cidr {
  v4: boolean;
  words: number[];
  /** Per word, the bits the prefix covers. */
  masks: number[];
}

export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let parts = 0;
  let part = 0;
  let digits = 0;
  // One pass, a '.' assumed after the last character; decimal parts 0-255 without leading zeros.
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return undefined;
    } else if (c === 46 && digits > 0) {
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/** The 16-bit groups of one side of `::`; an IPv4 address may end the whole address. */
function ipv6Groups(side: string, endsAddress: boolean): number[] | undefined {
  if (side === '') return [];
  const groups: number[] = [];
  const parts = side.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (endsAddress && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

export function parseIp(text: string): Ip | undefined {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 === undefined ? undefined : { v4: true, words: [v4], mapped: false };
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = ipv6Groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? ipv6Groups(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) return undefined;
  const g = [...head, ...new Array<number>(halves.length === 2 ? zeros : 0).fill(0), ...tail];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return { v4: true, words: [g[6]! * 0x10000 + g[7]!], mapped: true };
  }
  const words = [0, 2, 4, 6].map((i) => g[i]! * 0x10000 + g[i + 1]!);
  return { v4: false, words, mapped: false };
}

/** `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or one with `/n`. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined) return undefined;
  const bits = ip.v4 && !ip.mapped ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits) || Number(digits) > bits) return undefined;
    prefix = Number(digits);
  }
  if (ip.mapped) {
    // A ::ffff: block is an IPv4 block; a shorter prefix reaches beyond IPv4 and is refused.
    if (prefix < 96) return undefined;
    prefix -= 96;
  }
  const masks = ip.words.map((_, i) => {
    const covered = prefix - 32 * i;
    return covered <= 0 ? 0 : covered >= 32 ? -1 : -1 << (32 - covered);
  });
  return { v4: ip.v4, words: ip.words, masks };
}

export function inAnyBlock(blocks: readonly Cidr[], ip: Ip): boolean {
  for (let b = 0; b < blocks.length; b++) {
    const block = blocks[b]!;
    if (block.v4 !== ip.v4) continue;
    let inside = true;
    for (let i = 0; i < block.words.length; i++) {
      if (((ip.words[i]! ^ block.words[i]!) & block.masks[i]!) !== 0) {
        inside = false;
        break;
      }
    }
    if (inside) return true;
  }
  return false;
}

/** `a.b.c.d` of an IPv4 address held as a 32-bit word. */
export function formatIpv4(v4: number): string {
  return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
}
