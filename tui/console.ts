// What every console screen (tui/views/) is given: the screen, the message line, the view
// stack, prompts, the settings as last read and the daemon's live status. tui/app.ts builds it
// and owns the keys, the help and the refresh timer; a view owns its rows and its own keys.
import type blessed from "blessed";
import type { Config } from "../src/config/schema.ts";
import type { AccountAnswer, DaemonStatus } from "../src/status/status-view.ts";
import type { VirtualRows } from "./virtual-rows.ts";

export interface View {
  title: string;
  /** The view asks the daemon itself on refresh (and sets live.up): no second request. */
  live?: boolean;
  /** A form: the refresh timer leaves it alone while it is being edited. */
  form?: boolean;
  help: string;
  el: blessed.Widgets.BlessedElement;
  refresh?: () => void | Promise<void>;
  keys?: Record<string, () => void | Promise<void>>;
  /** Edits not saved yet: q and Esc ask first. */
  unsaved?: () => boolean;
  /** A windowed list (any length): movement keys go to it. */
  rows?: VirtualRows;
  /** Live type-to-filter: the key that starts it, what it says, and how the view applies it. */
  filter?: { key: string; what: string; set(text: string): void | Promise<void> };
}

export interface Console {
  home: string;
  screen: blessed.Widgets.Screen;
  /** The message line under the view (red when `error`). */
  say(text: string, error?: boolean): void;
  /** Header and key bar again, then render. */
  draw(): void;
  /** Refreshes the top view and redraws; a failed refresh is shown, never thrown away. */
  refreshThenDraw(): void;
  push(view: View): void;
  /** Back to the view below (the first view stays). */
  pop(): void;
  /** A line of input; undefined when cancelled. */
  prompt(label: string, value: string): Promise<string | undefined>;
  /** A yes/no question; only "y" is yes. */
  confirm(question: string): Promise<boolean>;
  /** A bordered list filling the body, the look of every list screen. */
  list(label: string): blessed.Widgets.ListElement;
  /** Text over the view (results, help) until any key. */
  overlay(label: string, text: string): void;
  /** The settings, parsed again only when the file changed. */
  config(): Config;
  /** The daemon as last seen: up or not (undefined until first asked: the first screen does not wait), and its last /status answer. */
  live: {
    up: boolean | undefined;
    status: DaemonStatus | undefined;
    /** Cluster mode: this node, how many nodes are alive of those registered, how many migrations run across them. */
    cluster?: { node: string; alive: number; nodes: number; running: number };
  };
  /** A prompt is open: keys and messages belong to it. */
  busy(): boolean;
  /** The daemon's status, or undefined when none answers or it refuses. */
  liveStatus(timeoutMs: number): Promise<DaemonStatus | undefined>;
  liveAccount(user: string): Promise<AccountAnswer | undefined>;
}
