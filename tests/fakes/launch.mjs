// Starts a fake provider as a child process and waits for its
// "listening PORT" line. Tests written in JS use it; other harnesses read the
// same line from the fake's stdout.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// startFake('openai' | 'anthropic', ['--cert', ...]) -> { port, origin, stop(), stderr() }
// origin is https://localhost:PORT, or http://127.0.0.1:PORT with --plain.
export function startFake(kind, args, { timeoutMs = 10_000 } = {}) {
  const child = spawn(process.execPath, [join(here, `fake-${kind}.mjs`), '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => {
    err += b;
    process.stderr.write(`# fake-${kind}: ${String(b).trimEnd().replace(/\n/g, `\n# fake-${kind}: `)}\n`);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(`no "listening" line within ${timeoutMs} ms`), timeoutMs);
    function fail(why) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`fake-${kind}: ${why}\n${err}`));
    }
    child.on('exit', (code) => fail(`exited with ${code}`));
    child.stdout.on('data', (b) => {
      out += b;
      const m = /^listening (\d+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const port = Number(m[1]);
      const host = args.includes('--plain') ? 'http://127.0.0.1' : 'https://localhost';
      resolve({
        port,
        origin: `${host}:${port}`,
        stderr: () => err,
        stop: () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
      });
    });
  });
}
