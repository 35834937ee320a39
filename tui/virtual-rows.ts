// A list of any length shown through a window: blessed's list keeps one element per row and
// walks all of them on every render (10,000 rows cost ~50 ms a key), so only the rows on
// screen are given to it; the cursor and the window's top are kept here. Pure part:
// windowTop.
import blessed from "blessed";

/** The first row shown so that `cursor` is visible, moving the window as little as possible (pure). */
export function windowTop(total: number, cursor: number, top: number, height: number): number {
  if (total <= height) return 0;
  let t = Math.min(top, total - height);
  if (cursor < t) t = cursor;
  if (cursor >= t + height) t = cursor - height + 1;
  return Math.max(0, t);
}

export class VirtualRows {
  readonly el: blessed.Widgets.ListElement;
  private rows: string[] = [];
  private top = 0;
  cursor = 0;

  /** `decorate` turns a row into blessed's tagged text (colours); without it rows are shown as they are. */
  constructor(label: string, private readonly decorate?: (row: string) => string) {
    // keys off: ↑/↓ and paging come through move()/to(), the console's key handler calls them
    this.el = blessed.list({ width: "100%", height: "100%", border: "line", label: ` ${label} `, keys: false, vi: false, style: { selected: { inverse: true } }, tags: Boolean(decorate) });
  }

  get length(): number {
    return this.rows.length;
  }

  /** Rows on screen: the list's height less its border. */
  private get height(): number {
    return Math.max(1, Number(this.el.height) - 2);
  }

  setRows(rows: string[]): void {
    this.rows = rows;
    this.cursor = Math.max(0, Math.min(this.cursor, rows.length - 1));
    this.paint();
  }

  /** Called after the cursor moved by a key (e.g. to explain the row under it). */
  onMove?: () => void;

  /** Moves the cursor to row `i` (clamped). */
  select(i: number): void {
    this.cursor = Math.max(0, Math.min(i, this.rows.length - 1));
    this.paint();
    this.onMove?.();
  }

  move(delta: number): void {
    this.select(this.cursor + delta);
  }

  /** ↑ ↓ PgUp PgDn Home End g G: true when the key was a movement. */
  key(name: string): boolean {
    const page = Math.max(1, this.height - 1);
    const moves: Record<string, () => void> = {
      up: () => this.move(-1),
      down: () => this.move(1),
      pageup: () => this.move(-page),
      pagedown: () => this.move(page),
      home: () => this.select(0),
      g: () => this.select(0),
      end: () => this.select(this.rows.length - 1),
      "S-g": () => this.select(this.rows.length - 1),
    };
    const m = moves[name];
    m?.();
    return Boolean(m);
  }

  /** Gives blessed the rows in the window, touching only those that changed. */
  paint(): void {
    const h = this.height;
    this.top = windowTop(this.rows.length, this.cursor, this.top, h);
    const window = this.rows.slice(this.top, this.top + h);
    const shown = this.decorate ? window.map(this.decorate) : window;
    const l = this.el as unknown as { ritems: string[]; setItem(i: number, s: string): void };
    if (l.ritems.length !== shown.length) this.el.setItems(shown as never);
    else for (let i = 0; i < shown.length; i++) if (l.ritems[i] !== shown[i]) l.setItem(i, shown[i]!);
    this.el.select(this.cursor - this.top);
  }
}
