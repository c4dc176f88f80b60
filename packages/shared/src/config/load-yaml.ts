import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Document, ErrorCode, LineCounter, YAMLError } from 'yaml';
import { ErrorCodes, XimpError } from '../errors';
import { ConfigError, type ConfigIssue } from './issues';
import { yamlLibrary } from './yaml-library';

/** A parsed config document with what is needed to point at its nodes. */
export interface ParsedYaml {
  /** The file's base name, used in every issue line. */
  file: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

// Our own wording for each of the yaml library's error codes. The library's messages quote the
// offending source line, which may hold a token, so they are never shown.
const SYNTAX_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'alias to an unknown anchor',
  BAD_DIRECTIVE: 'invalid directive',
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'anchor and tag in the wrong order',
  BAD_SCALAR_START: 'a plain value cannot start with this character (quote the value)',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping or list cannot start here (nested collections go on their own indented lines)',
  BLOCK_IN_FLOW: 'a block collection cannot appear inside a flow collection',
  DUPLICATE_KEY: 'duplicate key',
  IMPOSSIBLE: 'invalid YAML',
  KEY_OVER_1024_CHARS: 'key longer than 1024 characters',
  MISSING_CHAR: 'missing closing quote or bracket',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line (missing ":" or an unclosed quote?)',
  MULTIPLE_ANCHORS: 'more than one anchor on a node',
  MULTIPLE_DOCS: 'more than one YAML document; a config file holds exactly one',
  MULTIPLE_TAGS: 'more than one tag on a node',
  NON_STRING_KEY: 'keys must be strings',
  RESOURCE_EXHAUSTION: 'too many alias expansions',
  TAB_AS_INDENT: 'tabs cannot be used for indentation',
  TAG_RESOLVE_FAILED: 'unknown or invalid tag',
  UNEXPECTED_TOKEN: 'unexpected text',
  BAD_COLLECTION_TYPE: 'collection does not match its tag',
};

/** Reads a config file as UTF-8 text. Throws XIMP_ERR_CONFIG_UNREADABLE naming the path. */
export function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'read failed';
    throw new XimpError(ErrorCodes.CONFIG_UNREADABLE, `cannot read config file ${file} (${reason})`, {
      cause: err,
    });
  }
}

/** 1-based line and column of a source offset. */
export function positionAt(lineCounter: LineCounter, offset: number): { line: number; col: number } {
  const { line, col } = lineCounter.linePos(Math.max(0, offset));
  return { line: Math.max(1, line), col: Math.max(1, col) };
}

/**
 * Parses one YAML document keeping node positions. Syntax problems (and the library's warnings,
 * such as unknown tags) are thrown together as one ConfigError in our own words.
 * `fileName` may be a path; only its base name is shown.
 */
export function parseConfigYaml(text: string, fileName: string): ParsedYaml {
  const file = path.basename(fileName);
  const { LineCounter, parseDocument } = yamlLibrary();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const problems: YAMLError[] = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    const issues: ConfigIssue[] = problems.map((err) => ({
      file,
      ...positionAt(lineCounter, err.pos[0]),
      path: '',
      message: `invalid YAML: ${SYNTAX_MESSAGES[err.code] ?? 'invalid YAML'}`,
    }));
    throw new ConfigError(issues);
  }
  return { file, doc, lineCounter };
}
