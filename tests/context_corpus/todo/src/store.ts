import { Todo, Filter, MAX_TITLE } from "./types";

/** Holds the todos in memory. */
export class TodoStore {
  private items: Todo[] = [];
  private nextId = 1;

  /** Adds a todo; the title is cut to MAX_TITLE. */
  add(title: string, due?: Date): Todo {
    const todo = { id: this.nextId++, title: title.slice(0, MAX_TITLE), done: false, due };
    this.items.push(todo);
    return todo;
  }

  /** Flips a todo's done flag. */
  toggle(id: number): void {
    const todo = this.items.find((t) => t.id === id);
    if (todo) {
      todo.done = !todo.done;
    }
  }

  /** The todos a filter shows. */
  visible(filter: Filter): Todo[] {
    if (filter === "all") {
      return this.items;
    }
    return this.items.filter((t) => t.done === (filter === "done"));
  }
}
