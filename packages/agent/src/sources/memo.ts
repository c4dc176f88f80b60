/**
 * What the sources derive from text the kernel prints the same way every cycle (a header, the
 * mount table, metric names), derived once instead of every second.
 */

/** `derive`, remembered for the last input only: a changed input is derived again (a throw is not remembered). */
export function lastInputMemo<T>(derive: (input: string) => T): (input: string) => T {
  let last: { input: string; value: T } | undefined;
  return (input) => {
    if (last?.input !== input) last = { input, value: derive(input) };
    return last.value;
  };
}

/** `derive` per key, remembered for the first `maxKeys` keys (the kernel's names are a bounded set; a bound keeps a strange file from growing it). */
export function boundedMemo<T>(derive: (key: string) => T, maxKeys: number): (key: string) => T {
  const values = new Map<string, T>();
  return (key) => {
    if (values.has(key)) return values.get(key) as T;
    const value = derive(key);
    if (values.size < maxKeys) values.set(key, value);
    return value;
  };
}
