import { sinceProblem } from './alert-commands';
import { durationProblem } from './duration-argument';
import { renewTargetProblem } from './tls-commands';

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
  /** The last positional only: it may be given more than once (`TOKEN_ID [TOKEN_ID ...]`). */
  readonly repeatable?: boolean;
}

/** One `ximp` command: its words (`['agent', 'token', 'list']`), arguments and flags. */
export interface CommandSpec {
  readonly path: readonly string[];
  readonly summary: string;
  readonly positionals: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
  /** More help after the summary in `ximp COMMAND --help` (what the output shows). */
  readonly details?: string;
  /**
   * Checks values beyond their presence (a duration's form and bounds), returning the problems.
   * parseArgs runs it, so a bad value is a usage error (exit 2) before any config is read.
   */
  readonly check?: (flags: Readonly<Record<string, string>>, positionals: readonly string[]) => (string | null)[];
}

/** How far back `metrics query` reads without `--since`. */
export const DEFAULT_SINCE = '1h';

/** Flags every command takes (SPEC §6). */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'output', value: true, metavar: 'table|json', choices: ['table', 'json'], description: 'output format (default table)' },
  { name: 'server', value: true, metavar: 'URL', description: 'collector API URL, e.g. https://collector:4494' },
  { name: 'config', value: true, metavar: 'FILE', description: 'CLI config file (default ~/.config/ximp/cli.yaml)' },
  { name: 'help', value: false, description: 'show this help' },
  { name: 'version', value: false, description: 'show the version' },
];

/** `--file` of the rule and channel commands. */
const OBJECT_FILE: FlagSpec = {
  name: 'file',
  value: true,
  metavar: 'FILE',
  required: true,
  description: 'the YAML (or JSON) file, or - for stdin; checked here first, problems as FILE:LINE:COL',
};
const SINCE: FlagSpec = {
  name: 'since',
  value: true,
  metavar: 'DURATION',
  description: 'how far back from now, e.g. 1h or 7d, or an ISO 8601 time (default 24h)',
};
const RULE_NAME = { name: 'NAME', description: 'the rule name' };
const CHANNEL_NAME = { name: 'NAME', description: 'the channel name' };
const FILE_DETAILS =
  'The file is read with the collector\'s own reader: every problem is printed as\n' +
  'FILE:LINE:COL: key.path: message and the command exits 2 without sending anything.\n';

/** Local dashboard users (SPEC §15), monitoring-admin. */
const USER_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['user', 'create'],
    summary: 'create a local dashboard user; its one-time password is shown once (monitoring-admin)',
    positionals: [],
    flags: [
      { name: 'name', value: true, metavar: 'NAME', required: true, description: 'the sign-in name: a-z, 0-9, ".", "_" or "-", up to 64' },
      { name: 'role', value: true, metavar: 'ROLE', required: true, description: 'monitoring-viewer, monitoring-editor or monitoring-admin' },
      { name: 'nodes', value: true, metavar: 'GLOB', description: "only these nodes, e.g. 'web-*' (default: every node)" },
    ],
    details: 'The user must change the password at the first sign-in. --output json prints\n{name, role, nodes, password}. Audited as user.create.\n',
  },
  {
    path: ['user', 'list'],
    summary: 'list local dashboard users (monitoring-admin)',
    positionals: [],
    flags: [],
    details: 'Columns: NAME ROLE NODES STATUS (active or disabled) PASSWORD (set, or must-change)\nCREATED LAST-LOGIN.\n',
  },
  {
    path: ['user', 'disable'],
    summary: "disable a local user; its dashboard sessions end at once (monitoring-admin)",
    positionals: [{ name: 'NAME', description: 'the user name' }],
    flags: [],
  },
  {
    path: ['user', 'reset-password'],
    summary: 'give a local user a new one-time password, shown once; its sessions end (monitoring-admin)',
    positionals: [{ name: 'NAME', description: 'the user name' }],
    flags: [],
  },
];

/** The alerting commands (SPEC §14) and the audit log. */
const ALERT_COMMANDS: readonly CommandSpec[] = [
  {
    path: ['alert', 'rule', 'create'],
    summary: 'create an alert rule from a YAML file (monitoring-editor)',
    positionals: [],
    flags: [OBJECT_FILE],
    details: FILE_DETAILS + 'A rule of that name already there: exit 1 (use "ximp alert rule update"). Audited.\n',
  },
  {
    path: ['alert', 'rule', 'list'],
    summary: 'list alert rules',
    positionals: [],
    flags: [],
    details: 'Columns: NAME KIND FOR NODES CHANNELS ENABLED BUILT-IN.\n',
  },
  { path: ['alert', 'rule', 'show'], summary: 'show every setting of one alert rule', positionals: [RULE_NAME], flags: [] },
  {
    path: ['alert', 'rule', 'update'],
    summary: 'replace an alert rule with the one in a YAML file (monitoring-editor)',
    positionals: [RULE_NAME],
    flags: [OBJECT_FILE],
    details: FILE_DETAILS + 'The file\'s name must be NAME (rules are not renamed). Audited.\n',
  },
  {
    path: ['alert', 'rule', 'delete'],
    summary: 'delete an alert rule (monitoring-editor); the built-in agent-down can only be disabled',
    positionals: [RULE_NAME],
    flags: [],
  },
  {
    path: ['alert', 'channel', 'create'],
    summary: 'create an alert channel from a YAML file (monitoring-editor)',
    positionals: [],
    flags: [OBJECT_FILE],
    details:
      FILE_DETAILS +
      'Secrets (secret, password, bearer_token) are sent once and never shown again ("set");\n' +
      'a file holding one that other users may read gets a warning on stderr. Audited.\n',
  },
  {
    path: ['alert', 'channel', 'list'],
    summary: 'list alert channels',
    positionals: [],
    flags: [],
    details: 'Columns: NAME TYPE; for monitoring-editor and -admin also SETTINGS (secrets shown as "set").\n',
  },
  {
    path: ['alert', 'channel', 'test'],
    summary: 'send a test notification through a channel now (monitoring-editor)',
    positionals: [CHANNEL_NAME],
    flags: [],
    details: 'Exit 0 when the channel took it; 1 with what the channel answered when not.\n',
  },
  {
    path: ['alert', 'channel', 'update'],
    summary: 'replace an alert channel with the one in a YAML file (monitoring-editor)',
    positionals: [CHANNEL_NAME],
    flags: [OBJECT_FILE],
    details: FILE_DETAILS + 'A secret left out of the file, or given as "set", keeps its stored value. Audited.\n',
  },
  {
    path: ['alert', 'channel', 'delete'],
    summary: 'delete an alert channel no rule uses (monitoring-editor)',
    positionals: [CHANNEL_NAME],
    flags: [],
  },
  {
    path: ['alert', 'list'],
    summary: 'list the alerts pending or firing now',
    positionals: [],
    flags: [],
    details: 'Columns: RULE INSTANCE STATUS (pending or firing) SINCE VALUE.\n',
  },
  {
    path: ['alert', 'history'],
    summary: 'list alert transitions and notification attempts, oldest first',
    positionals: [],
    flags: [
      SINCE,
      { name: 'node', value: true, metavar: 'NODE', description: 'only this node' },
      { name: 'rule', value: true, metavar: 'NAME', description: 'only this rule' },
    ],
    details:
      'Columns: TIME RULE INSTANCE EVENT (pending, firing, resolved, cleared, delivery) VALUE\n' +
      'CHANNEL OUTCOME (ok, or failed with what the channel answered; JSON adds it as detail).\n',
    check: (flags) => [sinceProblem(flags.since)],
  },
  {
    path: ['dashboard', 'list'],
    summary: 'list saved dashboards, the built-in node-overview first',
    positionals: [],
    flags: [],
    details: 'Columns: ID NAME PANELS BUILTIN CREATED-BY (the API client or user) UPDATED.\n',
  },
  {
    path: ['audit', 'list'],
    summary: 'list audited changes, newest first (monitoring-admin)',
    positionals: [],
    flags: [SINCE],
    details: 'Columns: TIME ACTOR (the API client ID) ACTION TARGET SOURCE (the caller\'s address).\n',
    check: (flags) => [sinceProblem(flags.since)],
  },
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
    summary: 'revoke tokens and close their live sessions',
    positionals: [{ name: 'TOKEN_ID', description: 'the token ID (the part after "ximp_"); several revoke them all at once', repeatable: true }],
    flags: [],
    details:
      'One ID prints the live sessions it closed (NODE ADDRESS); --output json prints\n' +
      '{id, closed_sessions}. Several IDs are revoked in one call per 1,000 and print\n' +
      'ID STATUS CLOSED-SESSIONS (STATUS: revoked, already_revoked, not_found); --output json\n' +
      'prints [{id, status, closed_sessions}]. An unknown ID exits 4, after the others were\n' +
      'revoked all the same; an already revoked one exits 0.\n',
  },
  {
    path: ['agent', 'list'],
    summary: 'list agents and their state',
    positionals: [],
    flags: [
      { name: 'node', value: true, metavar: 'NODE', description: 'only this node' },
      { name: 'wide', value: false, description: 'more columns: RUNTIME, what runs the agent (e.g. node v24.22.3)' },
    ],
    details:
      'Columns: NODE STATE LAST-SEEN ADDRESS VERSION TOKEN; --wide adds RUNTIME at the end (empty\n' +
      'for agents too old to send it). With --output json the keys are the columns (runtime too\n' +
      'with --wide).\n',
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
      {
        name: 'nodes',
        value: true,
        metavar: 'GLOB',
        description: "only these nodes' agents, series and alerts, e.g. 'web-*' or 'web-*,db-0?' (default: every node)",
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
  {
    path: ['client', 'rotate-secret'],
    summary: 'give an API client a new secret, shown once; the old one stops working at once',
    positionals: [{ name: 'ID', description: 'the client ID' }],
    flags: [],
  },
  {
    path: ['tls', 'status'],
    summary: 'show every certificate: expiry, status and source (monitoring-admin)',
    positionals: [],
    flags: [{ name: 'component', value: true, metavar: 'NAME', description: 'only this one: ca, collector, api, store-client, or ca-next / ca-old during a CA roll' }],
    details:
      'STATUS: ok, renew-due (within tls.renew_before of NOT-AFTER; for the CA a year, or\n' +
      'tls.renew_before if longer: roll it), expired, or error (the last\n' +
      'renewal failed; its reason is printed on stderr under the table). SOURCE: managed (issued\n' +
      'and renewed by the collector) or file (cert_file/key_file, never renewed by XIMP).\n' +
      'During a CA roll a row ca-next (after bundle) or ca-old (after switch) follows ca.\n',
  },
  {
    path: ['tls', 'renew'],
    summary: 'renew certificates now; live connections stay up (monitoring-admin)',
    positionals: [],
    flags: [
      { name: 'all', value: false, description: 'every managed certificate' },
      { name: 'component', value: true, metavar: 'NAME', description: 'one certificate: collector, api or store-client; ca rolls the CA' },
      {
        name: 'step',
        value: true,
        metavar: 'STEP',
        choices: ['bundle', 'switch', 'drop-old'],
        description: 'with --component ca: the step of the CA roll (default bundle)',
      },
    ],
    details:
      'Give --all or --component. Audited as tls.renew. Prints each renewed component and its new\n' +
      'NOT-AFTER; new TLS handshakes get the new certificate.\n' +
      'The CA is rolled in three steps, each run once (a repeat changes nothing): bundle (a next CA\n' +
      'and ca-bundle.pem with both; distribute it to agents, CLIs and stores), switch (the next CA\n' +
      'issues; every leaf is re-issued), drop-old (the bundle holds the new CA alone). A step out of\n' +
      'order is refused (exit 1) naming the step to run first.\n',
    check: (flags) => [renewTargetProblem(flags)],
  },
  { path: ['store', 'retention'], summary: 'show the metric retention (same as "store retention get")', positionals: [], flags: [] },
  {
    path: ['store', 'retention', 'get'],
    summary: 'show the metric retention of the embedded store',
    positionals: [],
    flags: [],
    details:
      'Columns: RETENTION (e.g. 15d), RETENTION-SECONDS, SOURCE: default (store.retention in\n' +
      'collector.yaml) or setting (set with "ximp store retention set"; kept across restarts).\n',
  },
  {
    path: ['store', 'retention', 'set'],
    summary: 'change the metric retention (monitoring-admin)',
    positionals: [{ name: 'DURATION', description: 'how long to keep metrics, e.g. 30d or 12h (1m to 3650d)' }],
    flags: [],
    details:
      'Audited as store.retention.update. The retention pass, hourly, deletes older samples from\n' +
      'the next run on; the new value overrides store.retention in collector.yaml.\n',
    check: (_flags, positionals) => [durationProblem(positionals[0], 'DURATION')],
  },
  {
    path: ['metrics', 'query'],
    summary: "print a node's series of one metric from the embedded store",
    positionals: [],
    flags: [
      { name: 'node', value: true, metavar: 'NODE', required: true, description: 'the node' },
      { name: 'metric', value: true, metavar: 'NAME', required: true, description: 'the metric name, e.g. node_load1' },
      {
        name: 'since',
        value: true,
        metavar: 'DURATION',
        description: "how far back from now, e.g. 15m or 6h (default 1h; at most the collector's api.max_query_range, 31d by default)",
      },
    ],
    details:
      'The table has a row per series: SERIES (name{labels} as Prometheus writes it, with\n' +
      'instance="NODE" and job="ximp"), LAST-VALUE, LAST-TIME and POINTS (the points in range).\n' +
      '--output json prints [{metric, labels, points: [[ISO 8601 time, value], ...]}] with every\n' +
      'point, oldest first (a NaN or infinite value is null). A node or metric without data\n' +
      'prints an empty table (JSON []).\n',
    check: (flags) => [durationProblem(flags.since, '--since')],
  },
  ...ALERT_COMMANDS,
  ...USER_COMMANDS,
];
