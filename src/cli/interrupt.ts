// Ctrl-C and SIGTERM during a command: the command's cleanup runs (a half-written file is
// removed), then the process exits non-zero: 130 for SIGINT, 143 for SIGTERM.

export function onInterrupt(cleanup: (signal: NodeJS.Signals) => void): () => void {
  const handler = (signal: NodeJS.Signals) => {
    try {
      cleanup(signal);
    } finally {
      process.stderr.write(`ensnap: interrupted (${signal})\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
