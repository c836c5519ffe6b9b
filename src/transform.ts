/** The last word on one child's arguments: given what the component would send, returns what to send. */
export type Transform<T> = (args: T) => T;

/** Applies an optional transform to a child's arguments (the arguments themselves without one). */
export function transformed<T>(args: T, transform?: Transform<T>): T {
    return transform ? transform(args) : args;
}
