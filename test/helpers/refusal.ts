import { DropgateError } from '../../src/shared/errors.js';

/**
 * The DropgateError a promise rejects with; fails the test if it resolves or throws anything else.
 * @example expect((await refusal(auth(request))).code).toBe('UNAUTHENTICATED');
 */
export async function refusal(promise: unknown): Promise<DropgateError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DropgateError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
