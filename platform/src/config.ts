import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Environment-variable configuration. Each role declares one zod schema whose
 * keys are the variable names; loadEnvConfig() parses process.env with it and
 * fails at start with every bad variable named and the reason.
 */
export function loadEnvConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "not set", as in most shells' `FOO= cmd`.
    input[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const got = input[name];
    return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(problems, { cause: result.error });
}

/** An integer variable within [min, max], with a default. */
export function envInt(defaultValue: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => (v === undefined ? defaultValue : parseIntWithin(v, min, max, ctx)));
}

/** An integer variable within [min, max] that may be unset (undefined): for defaults worked out later, at start. */
export function envOptionalInt(min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx): number | undefined => (v === undefined ? undefined : parseIntWithin(v, min, max, ctx)));
}

function parseIntWithin(v: string, min: number, max: number, ctx: z.RefinementCtx): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}` });
    return z.NEVER;
  }
  return n;
}

/** A boolean variable: true/false/1/0/yes/no, with a default. */
export function envBool(defaultValue: boolean) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultValue;
      const s = v.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      ctx.addIssue({ code: 'custom', message: 'expected true or false' });
      return z.NEVER;
    });
}

/** A string variable with a default. */
export function envString(defaultValue: string) {
  return z
    .string()
    .optional()
    .transform((v) => v ?? defaultValue);
}

/** One of a fixed set of values, with a default. */
export function envEnum<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z
    .enum(values)
    .optional()
    .transform((v) => v ?? defaultValue);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
