import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { echo, HttpError } from './errors';

export type Part = 'params' | 'querystring' | 'body' | 'headers';

/** Route-level validator: request parts are checked with the zod schemas the route's JSON Schemas came from. */
export function zodValidator(parts: Partial<Record<Part, z.ZodType>>): FastifySchemaCompiler<unknown> {
  return ({ httpPart }) => {
    const schema = parts[httpPart as Part];
    if (!schema) return (data) => ({ value: data });
    return (data) => {
      const r = schema.safeParse(data);
      if (r.success) return { value: r.data };
      const reason = r.error.issues.map((i) => `${[httpPart, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
      // unknown keys are named in the reason: a 20,000-character one need not come back whole
      return { error: new HttpError(400, echo(reason, 500)) };
    };
  };
}
