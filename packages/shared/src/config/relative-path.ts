import * as path from 'node:path';

/** Resolves a path from a config file against the folder of that file (not the working directory). */
export function resolveRelativeTo(configFile: string, target: string): string {
  return path.resolve(path.dirname(path.resolve(configFile)), target);
}
