export * from './log-position';
export * from './record-format';
export * from './segment-files';
export * from './segment-log';
