/** A flag a command accepts. Flags with `value` take one argument (`--node x` or `--node=x`). */
export interface FlagSpec {
  readonly name: string;
  readonly value: boolean;
  readonly metavar?: string;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  readonly description: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
}

/** One `ximp` command: its words (`['agent', 'token', 'list']`), arguments and flags. */
export interface CommandSpec {
  readonly path: readonly string[];
  readonly summary: string;
  readonly positionals: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
}

/** Flags every command takes (SPEC §6). */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'output', value: true, metavar: 'table|json', choices: ['table', 'json'], description: 'output format (default table)' },
  { name: 'server', value: true, metavar: 'URL', description: 'collector API URL, e.g. https://collector:4494' },
  { name: 'config', value: true, metavar: 'FILE', description: 'CLI config file (default ~/.config/ximp/cli.yaml)' },
  { name: 'help', value: false, description: 'show this help' },
  { name: 'version', value: false, description: 'show the version' },
];

/** The commands of this build, in the order `ximp --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['agent', 'token', 'create'],
    summary: 'create a token for a node; the token is shown once',
    positionals: [],
    flags: [
      { name: 'node', value: true, metavar: 'NODE', required: true, description: 'the node the token belongs to' },
      { name: 'expires', value: true, metavar: 'DURATION', description: 'lifetime, e.g. 90d (default 365d)' },
    ],
  },
  {
    path: ['agent', 'token', 'list'],
    summary: 'list agent tokens',
    positionals: [],
    flags: [{ name: 'node', value: true, metavar: 'NODE', description: 'only the tokens of this node' }],
  },
  {
    path: ['agent', 'token', 'revoke'],
    summary: 'revoke a token and close its live sessions',
    positionals: [{ name: 'TOKEN_ID', description: 'the token ID (the part after "ximp_")' }],
    flags: [],
  },
  {
    path: ['agent', 'list'],
    summary: 'list agents and their state',
    positionals: [],
    flags: [{ name: 'node', value: true, metavar: 'NODE', description: 'only this node' }],
  },
  {
    path: ['client', 'create'],
    summary: 'create an API client; its secret is shown once',
    positionals: [],
    flags: [
      { name: 'name', value: true, metavar: 'NAME', required: true, description: 'a name for the client' },
      {
        name: 'role',
        value: true,
        metavar: 'ROLE',
        required: true,
        description: 'monitoring-viewer, monitoring-editor or monitoring-admin',
      },
    ],
  },
  { path: ['client', 'list'], summary: 'list API clients', positionals: [], flags: [] },
  {
    path: ['client', 'revoke'],
    summary: 'revoke an API client and its access tokens',
    positionals: [{ name: 'ID', description: 'the client ID' }],
    flags: [],
  },
];
