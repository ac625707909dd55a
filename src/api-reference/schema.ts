/**
 * zod schemas as the JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a
 * client sends: the input side, so defaults are shown and transforms (a
 * coerced number, an upper-cased prefix) do not hide the accepted shape.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** The properties of an object schema, each with whether it is required (params and query strings). */
export function fieldsOf(schema: z.ZodType): { name: string; required: boolean; schema: JsonSchema }[] {
  const json = jsonSchemaOf(schema);
  const props = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({ name, required: required.has(name), schema: s }));
}
