// What copies and restores let go of is released, and collected, once the engine has been idle
// for a while: not while work goes on, and once for work in quick succession.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { collectHeap, IdleMemory } from '../../src/storage/engine/idle-memory.js';

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
    let releases = 0;
    const idle = new IdleMemory(
      40,
      () => false,
      () => releases++,
    );
    idle.workEnded();
    await sleep(10);
    idle.workEnded(); // more work ended within the delay: the wait starts again
    await sleep(30);
    assert.equal(releases, 0, 'not before the delay after the last piece of work');
    await sleep(60);
    assert.equal(releases, 1);
    await sleep(60);
    assert.equal(releases, 1, 'once');
  });

  it('releases nothing while work goes on, nor once stopped', async () => {
    let releases = 0;
    let busy = true;
    const idle = new IdleMemory(
      20,
      () => busy,
      () => releases++,
    );
    idle.workEnded();
    await sleep(60);
    assert.equal(releases, 0, 'other work is running: its end schedules the release');
    busy = false;
    idle.workEnded();
    idle.stop();
    await sleep(60);
    assert.equal(releases, 0, 'stopped');
  });
});
