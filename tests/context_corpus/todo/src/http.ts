/** Fetches JSON from the API, throwing on an error status. */
export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch("/api" + path);
  if (!response.ok) {
    throw new Error(`GET ${path}: ${response.status}`);
  }
  return (await response.json()) as T;
}

/** Formats a date for the server. */
export function formatDate(date: Date): string {
  return date.toISOString();
}
