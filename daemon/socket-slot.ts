// A socket the settings switch on, move or switch off: started when its settings appear,
// restarted when they change, closed when they go. A socket that cannot start is logged with
// the fix and tried again on the next reload; the daemon keeps running without it.
export class SocketSlot<T extends { close(): Promise<void> }> {
  current?: T;
  private key?: string;

  /** `key` sums up the settings (undefined: off). */
  async apply(key: string | undefined, start: () => Promise<T>, failed: (e: unknown) => void): Promise<void> {
    if (this.current && this.key === key) return;
    await this.close();
    if (key === undefined) return;
    try {
      this.current = await start();
      this.key = key;
    } catch (e) {
      failed(e);
    }
  }

  async close(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    this.key = undefined;
    await c?.close();
  }
}
