export * from './errors.js';
export * from './parts.js';
export * from './protocol.js';
export * from './sizes.js';
export * from './types.js';
