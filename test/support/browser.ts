import { existsSync } from 'node:fs';

/**
 * The Chromium the browser tests drive: CHROMIUM_PATH, else Debian's (`apt-get install chromium`, which .ci/run
 * does). playwright-core never downloads a browser of its own; a missing one fails the test, naming the fix.
 */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  return path;
}
