// What copies, restores and reads keep is let go once such work has paused for a while (not while
// it goes on, and once for work in quick succession), and collected when it was much.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { collectHeap, IdleMemory } from '../../src/storage/engine/idle-memory.js';

/** An IdleMemory whose releases are counted. */
function counted(delayMs: number, busy: () => boolean): { idle: IdleMemory; releases: () => number } {
  let releases = 0;
  const release = () => {
    releases++;
    return 0;
  };
  return { idle: new IdleMemory(delayMs, busy, release), releases: () => releases };
}

describe('idle memory', () => {
  it('collects the heap: a buffer no longer referenced is gone', async () => {
    const ref = new WeakRef(new ArrayBuffer(1024 * 1024));
    // A WeakRef's target is kept until the job that made it is over.
    await setImmediate();
    collectHeap();
    assert.equal(ref.deref(), undefined);
    collectHeap(); // again: the same collector, no new context
  });

  it('releases once after work in quick succession, when the delay has passed', async () => {
    const { idle, releases } = counted(40, () => false);
    idle.workEnded();
    await sleep(10);
    idle.workEnded(); // more work ended within the delay: the wait starts again
    await sleep(30);
    assert.equal(releases(), 0, 'not before the delay after the last piece of work');
    await sleep(60);
    assert.equal(releases(), 1);
    await sleep(60);
    assert.equal(releases(), 1, 'once');
  });

  it('collects after a release of 16 MiB or more, not after a smaller one', async () => {
    for (const [released, collected] of [
      [16 * 1024 * 1024, true],
      [4 * 1024 * 1024, false],
    ] as const) {
      const ref = new WeakRef(new ArrayBuffer(1024 * 1024));
      const idle = new IdleMemory(
        10,
        () => false,
        () => released,
      );
      idle.workEnded();
      await sleep(40);
      assert.equal(ref.deref() === undefined, collected, `after ${released} bytes let go`);
    }
  });

  it('releases nothing while work goes on, nor once stopped', async () => {
    let busy = true;
    const { idle, releases } = counted(20, () => busy);
    idle.workEnded();
    await sleep(60);
    assert.equal(releases(), 0, 'other work is running: its end schedules the release');
    busy = false;
    idle.workEnded();
    idle.stop();
    await sleep(60);
    assert.equal(releases(), 0, 'stopped');
  });
});
