/** Every message along a failure's cause chain (workflow ← activity ← the cause), for matching in tests. */
export function failureText(e: unknown): string {
  const out: string[] = [];
  for (let c = e as Error | undefined; c; c = (c as { cause?: Error }).cause) out.push(c.message);
  return out.join(' <- ');
}
