// Concurrent calls for the same key share one piece of work while it runs: the second
// caller gets the first one's promise instead of starting it again.
export class SingleFlight<K, V> {
  private readonly pending = new Map<K, Promise<V>>();

  run(key: K, work: () => Promise<V>): Promise<V> {
    let promise = this.pending.get(key);
    if (!promise) {
      promise = work().finally(() => this.pending.delete(key));
      this.pending.set(key, promise);
    }
    return promise;
  }
}
