/** Formats a date as YYYY-MM-DD. */
export function formatDate(date: Date): string {
  const month = String(date.getMonth() + 1).padStart(2, "0");
  const day = String(date.getDate()).padStart(2, "0");
  return `${date.getFullYear()}-${month}-${day}`;
}

/** Cuts text to a length, with an ellipsis. */
export function truncate(text: string, length: number): string {
  if (text.length <= length) {
    return text;
  }
  return text.slice(0, length - 1) + "…";
}

export const pluralize = (count: number, word: string): string => {
  return count === 1 ? word : word + "s";
};
