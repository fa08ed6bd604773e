/**
 * The one code path behind both hosts: check the operation name, validate the input against
 * the contract, run the handler, and turn every failure into an error envelope.
 */
import { z } from 'zod';
import { type OperationName, type OpArgs, type OpResult, isOperationName, operations } from '../../shared/api/contract';
import { ApiError, type Envelope } from '../../shared/api/errors';
import { describeFsError } from '../platform/user-paths';

export type Handlers = { [N in OperationName]: (args: OpArgs<N>) => OpResult<N> | Promise<OpResult<N>> };

export type Dispatch = (name: unknown, input: unknown) => Promise<Envelope<unknown>>;

export function createDispatcher(handlers: Handlers, log: (message: string) => void = console.error): Dispatch {
  return async (name, input) => {
    try {
      if (!isOperationName(name)) throw new ApiError('not_found', `Unknown operation ${JSON.stringify(name)}. Known operations: ${Object.keys(operations).join(', ')}.`);
      const args = parseInput(name, input);
      const handler = handlers[name] as (args: unknown) => unknown;
      return { ok: true, result: await handler(args) };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, error: error.toBody() };
      const plain = fileSystemError(error);
      if (plain) return { ok: false, error: plain.toBody() };
      log(`[dispatch] ${String(name)} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return { ok: false, error: { code: 'internal', message: `The studio failed to run ${String(name)}: ${error instanceof Error ? error.message : String(error)}` } };
    }
  };
}

const ACTIONS: Record<string, string> = { open: 'open', write: 'write', mkdir: 'create', rename: 'write', scandir: 'read the folder', unlink: 'remove', rmdir: 'remove', copyfile: 'copy to' };

/**
 * A file-system error no handler turned into a message (a disk that filled up, a folder whose
 * permissions changed): the file and what to do, as a bad request, instead of a raw system error.
 */
function fileSystemError(error: unknown): ApiError | undefined {
  const { path: file, syscall } = (error ?? {}) as { path?: unknown; syscall?: unknown };
  if (typeof file !== 'string' || typeof syscall !== 'string') return undefined;
  return describeFsError(error, file, ACTIONS[syscall] ?? 'use');
}

function parseInput(name: OperationName, input: unknown): unknown {
  return parseOrBadRequest(operations[name].input, input ?? {}, `input for ${name}`);
}

/** The parsed value, or a bad_request listing every field that is wrong ("Invalid <what>: ..."). */
export function parseOrBadRequest<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(input)', message: describeIssue(issue) }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new ApiError('bad_request', `Invalid ${what}: ${summary}. Nothing was changed.`, issues);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; remove them`;
  return issue.message;
}
