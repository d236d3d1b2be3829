/** A task on the list. */
export interface Todo {
  id: number;
  title: string;
  done: boolean;
  due?: Date;
}

/** Which todos a view shows. */
export type Filter = "all" | "open" | "done";

export const MAX_TITLE = 120;
