/** Asserting on the errors readers reject with. */
import { expect } from 'vitest';
import { DatasetError } from '../../main/data/types';

/** The DatasetError a reader's promise rejects with (the test fails if it resolves or throws anything else). */
export async function datasetFailure(promise: Promise<unknown>): Promise<DatasetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}
