import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The previous release's code, beside this checkout: a git worktree of the newest release in
 * releases.json (its commit is an ancestor of every later one, so any full clone has it; its tag
 * v<version> is checked when the clone has tags), with its dependencies. When its lockfile is the
 * same as this checkout's, node_modules is a copy of hard links (instant; the workspace packages
 * are relative symlinks, so they resolve to the worktree's own packages); otherwise `npm ci`.
 */

const root = path.resolve(import.meta.dirname, '..', '..', '..');

export type PreviousRelease = { version: string; commit: string; dir: string; remove(): void };

const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export function previousRelease(): { version: string; commit: string } {
  const { releases } = JSON.parse(fs.readFileSync(path.join(root, 'releases.json'), 'utf8')) as { releases: Array<{ version: string; commit: string }> };
  const latest = releases.at(-1);
  if (!latest) throw new Error('releases.json lists no release');
  return latest;
}

export function checkOutPreviousRelease(): PreviousRelease {
  const { version, commit } = previousRelease();
  if (spawnSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: root }).status !== 0) {
    const shallow = git('rev-parse', '--is-shallow-repository') === 'true';
    throw new Error(`release ${version} (${commit}) is not in this clone${shallow ? ': it is shallow; clone with the history (git fetch --unshallow)' : ''}`);
  }
  const tagged = spawnSync('git', ['rev-parse', '-q', '--verify', `refs/tags/v${version}^{commit}`], { cwd: root, encoding: 'utf8' }).stdout.trim();
  if (tagged && tagged !== commit) throw new Error(`tag v${version} names ${tagged}, releases.json ${commit}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `release-${version}-`));
  git('worktree', 'add', '--detach', '--force', dir, commit);
  const remove = () => {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: root });
    fs.rmSync(dir, { recursive: true, force: true });
    spawnSync('git', ['worktree', 'prune'], { cwd: root });
  };
  try {
    const sameLock = spawnSync('git', ['diff', '--quiet', commit, 'HEAD', '--', 'package-lock.json'], { cwd: root }).status === 0;
    if (sameLock) {
      for (const modules of ['node_modules', ...['packages', 'services', 'web'].flatMap((group) => fs.readdirSync(path.join(root, group)).map((name) => path.join(group, name, 'node_modules')))]) {
        if (fs.existsSync(path.join(root, modules)) && fs.existsSync(path.dirname(path.join(dir, modules)))) {
          execFileSync('cp', ['-al', path.join(root, modules), path.join(dir, modules)]);
        }
      }
    } else {
      execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore', timeout: 600_000 });
    }
  } catch (error) {
    remove();
    throw error;
  }
  return { version, commit, dir, remove };
}
