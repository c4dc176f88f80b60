export * from './errors';
export * from './log';
export * from './lifecycle';
export * from './protocol/version';
export * from './protocol/close-codes';
export * from './protocol/frames';
export * from './protocol/codec';
