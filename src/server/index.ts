export { DropgateError, type ErrorCode } from '../shared/errors.js';
export type { GatewayRequest, GatewayResponse } from '../shared/http.js';
export type { AuthContext, Authenticate, DropgateOptions, Identity, LogEntry, RateLimiterFactory, RouteConfig } from './config.js';
export { DEFAULT_ALLOWED_TYPES, DEFAULT_ROUTE } from './config.js';
export { createDropgate, type Dropgate } from './gateway.js';
export type { BeforeSignContext, Hooks, UploadCompleteContext } from './hooks.js';
export type { SweepResult } from './sweeper.js';
