/** Exit statuses of the `ximp` command (SPEC §6). Only main.ts hands them to the process. */
export const ExitCodes = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  NOT_AUTHORIZED: 3,
  NOT_FOUND: 4,
  CONFIG: 78,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];
