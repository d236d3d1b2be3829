import { TodoStore } from "./store";
import { Todo, Filter } from "./types";
import { formatDate, truncate, pluralize } from "./format";
import { getJson } from "./http";

export function renderTodo(todo: Todo): string {
  const due = todo.due ? ` (due ${formatDate(todo.due)})` : "";
  return `[${todo.done ? "x" : " "}] ${truncate(todo.title, 40)}${due}`;
}

export function summary(store: TodoStore, filter: Filter): string {
  const shown = store.visible(filter);
  return `${shown.length} ${pluralize(shown.length, "task")}`;
}

export async function load(store: TodoStore): Promise<void> {
  const todos = await getJson<Todo[]>("/todos");
  for (const todo of todos) {
    store.add(todo.title, todo.due);
  }
}
