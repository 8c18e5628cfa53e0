// Progress of a long command: on a terminal one line redrawn in place (bytes done of total, rate,
// ETA); otherwise a plain line at most every second, so logs stay readable.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** 75 → "1m15s"; 3700 → "1h01m". */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class Progress {
  private done = 0;
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    if (!stream.isTTY) stream.write(`${label}: ${humanBytes(total)} to go\n`);
  }

  add(bytes: number): void {
    this.done += bytes;
    const now = this.now();
    if (now - this.lastDraw < (this.stream.isTTY ? 100 : 1000)) return;
    this.lastDraw = now;
    this.draw(now);
  }

  /** Final line: what was done, how long it took, the mean rate. */
  finish(summary = ''): void {
    const seconds = Math.max(0.001, (this.now() - this.started) / 1000);
    const line =
      `${this.label}: ${humanBytes(this.done)} in ${humanDuration(seconds)} ` +
      `(${humanBytes(this.done / seconds)}/s)${summary ? ', ' + summary : ''}`;
    this.stream.write(this.stream.isTTY && this.drawn ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  /** Leaves the terminal on a fresh line (after an interruption or an error). */
  abandon(): void {
    if (this.stream.isTTY && this.drawn) this.stream.write('\n');
  }

  private draw(now: number): void {
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    const rate = this.done / seconds;
    const percent = this.total > 0 ? Math.floor((this.done / this.total) * 100) : 100;
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const line =
      `${this.label}: ${humanBytes(this.done)} / ${humanBytes(this.total)} (${percent}%) ` +
      `${humanBytes(rate)}/s ETA ${humanDuration(eta)}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}
