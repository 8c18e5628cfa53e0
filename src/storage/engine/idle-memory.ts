// The buffers that copies (or restores) keep for reuse, let go once such work has paused, and then
// really freed. V8 frees a dropped buffer's memory only when a collection finds it unreachable,
// and it starts one for such memory only after 64 MiB more of it has been allocated. A copy that
// dropped its pools (and the hash workers' answers) as it ended left them resident until the next
// copy was well under way, which then held its own buffers besides (docs/storage.md, "Memory").
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Less than this let go is not worth a collection (about 10 ms of the event loop): V8's own will
 * come soon enough, and a small snapshot or read every few seconds pays none.
 */
const COLLECT_FROM_BYTES = 16 * 1024 * 1024;

let collect: (() => void) | undefined;

/**
 * One full collection of the heap: V8's `gc()`, as `--expose-gc` would give it, taken from a
 * context of its own (the flag is on only while that context is made).
 */
export function collectHeap(): void {
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  collect();
}

/**
 * Runs `release`, `delayMs` after the last piece of work ended unless other work began meanwhile,
 * and then one collection if it let go of COLLECT_FROM_BYTES or more: work in quick succession (a
 * disk's snapshots, one after another) keeps its buffers and pays no collection between.
 */
export class IdleMemory {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    /** Whether work is going on now (then nothing is released; its end schedules again). */
    private readonly busy: () => boolean,
    /** Lets go of what the work kept for reuse; returns how many bytes. */
    private readonly release: () => number,
  ) {}

  /** A piece of work ended: release once the engine has stayed idle for the delay. */
  workEnded(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy()) return;
      if (this.release() >= COLLECT_FROM_BYTES) collectHeap();
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
